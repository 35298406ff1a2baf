// Subscriptions of persistent sessions: on disk under s!{client}!{topic}, in memory as aedes' trie
// (QoS > 0 only: what a publish is queued for) and per client. Memory changes only once the
// batch that carries them is durable.
import { Readable } from 'node:stream';
import type { GroupCommitter } from './committer.js';
import { jsonBytes, parseJson } from './codec.js';
import * as K from './keys.js';
import { QLOBBER_OPTIONS, QlobberSub } from './aedesParts.js';
import type { Sublevel, WriteOp } from './writeTypes.js';

export interface SubRecord {
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  subscriptionIdentifier?: number;
}
export type Subscription = SubRecord & { topic: string };

export class SubscriptionStore {
  readonly #trie = new QlobberSub(QLOBBER_OPTIONS);
  readonly #subs = new Map<string, Map<string, SubRecord>>();

  constructor(
    private readonly committer: GroupCommitter,
    /** The broker sublevel. */
    private readonly sublevel: Sublevel,
    private readonly plain: (stored: Uint8Array) => Uint8Array,
  ) {}

  async load(): Promise<void> {
    for await (const [key, value] of this.sublevel.iterator(K.ALL_SUBS)) {
      const { clientId, rest: topic } = K.splitClientKey(key);
      this.#applyAdd(clientId, [{ topic, ...(parseJson(this.plain(value)) as SubRecord) }]);
    }
  }

  #applyAdd(clientId: string, subs: Subscription[]): void {
    let stored = this.#subs.get(clientId);
    if (!stored) {
      stored = new Map();
      this.#subs.set(clientId, stored);
    }
    for (const sub of subs) {
      const prev = stored.get(sub.topic);
      const record: SubRecord = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
      if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
      if (sub.qos > 0) {
        this.#trie.add(sub.topic, { clientId, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl });
      } else if (prev && prev.qos > 0) {
        this.#trie.remove(sub.topic, { clientId, topic: sub.topic });
      }
      stored.set(sub.topic, record);
    }
  }

  add(clientId: string, subs: Subscription[]): Promise<void> {
    const ops: WriteOp[] = subs.map((s) => {
      const record: SubRecord = { qos: s.qos, rh: s.rh, rap: s.rap, nl: s.nl };
      if (s.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = s.subscriptionIdentifier;
      return { type: 'put', key: K.subKey(clientId, s.topic), value: jsonBytes(record), sublevel: this.sublevel };
    });
    return this.committer.commit(ops, () => this.#applyAdd(clientId, subs));
  }

  remove(clientId: string, topics: string[]): Promise<void> {
    const ops: WriteOp[] = topics.map((t) => ({ type: 'del', key: K.subKey(clientId, t), sublevel: this.sublevel }));
    return this.committer.commit(ops, () => {
      const stored = this.#subs.get(clientId);
      if (!stored) return;
      for (const topic of topics) {
        const s = stored.get(topic);
        if (s === undefined) continue;
        if (s.qos > 0) this.#trie.remove(topic, { clientId, topic });
        stored.delete(topic);
      }
      if (stored.size === 0) this.#subs.delete(clientId);
    });
  }

  byClient(clientId: string): Subscription[] {
    const stored = this.#subs.get(clientId);
    const out: Subscription[] = [];
    if (stored) for (const [topic, s] of stored) out.push({ topic, ...s });
    return out;
  }

  countOffline(): { subsCount: number; clientsCount: number } {
    return { subsCount: this.#trie.subscriptionsCount, clientsCount: this.#subs.size };
  }

  byTopic(topic: string): Array<{ clientId: string; topic: string; qos: number }> {
    return this.#trie.match(topic);
  }

  /** The deletes of a whole session's subscriptions, for a batch the caller commits (see forget). */
  pushCleanOps(clientId: string, ops: WriteOp[]): void {
    const stored = this.#subs.get(clientId);
    if (stored) for (const topic of stored.keys()) ops.push({ type: 'del', key: K.subKey(clientId, topic), sublevel: this.sublevel });
  }

  /** The session's subscriptions are gone from disk: memory follows. */
  forget(clientId: string): void {
    const s = this.#subs.get(clientId);
    if (s) {
      for (const [topic, rec] of s) if (rec.qos > 0) this.#trie.remove(topic, { clientId, topic });
      this.#subs.delete(clientId);
    }
  }

  clientList(topic: string): Readable {
    const subs = this.#subs;
    function* clients(): Generator<string> {
      for (const [clientId, topics] of subs) if (topics.has(topic)) yield clientId;
    }
    return Readable.from(clients());
  }
}
