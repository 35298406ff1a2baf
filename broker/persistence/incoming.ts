// QoS 2 publishes received and not yet released (PUBREL): on disk under i!{client}!{messageId},
// looked up in memory.
import type { GroupCommitter } from './committer.js';
import { decodeRecord, encodeRecord } from './codec.js';
import * as K from './keys.js';
import { Packet, type AnyPacket } from './aedesParts.js';
import type { Sublevel, WriteOp } from './writeTypes.js';

export class IncomingStore {
  readonly #incoming = new Map<string, Map<number, AnyPacket>>();

  constructor(
    private readonly committer: GroupCommitter,
    private readonly sublevel: Sublevel,
    private readonly plain: (stored: Uint8Array) => Uint8Array,
  ) {}

  async load(): Promise<void> {
    for await (const [key, value] of this.sublevel.iterator(K.ALL_INCOMING)) {
      const { clientId, rest } = K.splitClientKey(key);
      this.#of(clientId, true)!.set(Number(rest), decodeRecord(this.plain(value)));
    }
  }

  #of(clientId: string, create: boolean): Map<number, AnyPacket> | undefined {
    let m = this.#incoming.get(clientId);
    if (!m && create) {
      m = new Map();
      this.#incoming.set(clientId, m);
    }
    return m;
  }

  store(clientId: string, packet: AnyPacket): Promise<void> {
    const p = new Packet(packet);
    p.messageId = packet.messageId;
    const ops: WriteOp[] = [
      { type: 'put', key: K.incomingKey(clientId, packet.messageId), value: encodeRecord(p), sublevel: this.sublevel },
    ];
    return this.committer.commit(ops, () => {
      this.#of(clientId, true)!.set(packet.messageId, p);
    });
  }

  get(clientId: string, messageId: number): AnyPacket | undefined {
    return this.#of(clientId, false)?.get(messageId);
  }

  /** Throws when there is no such packet, as aedes expects. */
  del(clientId: string, messageId: number): Promise<void> {
    const m = this.#of(clientId, false);
    if (!m?.has(messageId)) throw new Error('no such packet');
    return this.committer.commit([{ type: 'del', key: K.incomingKey(clientId, messageId), sublevel: this.sublevel }], () => {
      m.delete(messageId);
    });
  }

  clean(clientId: string): Promise<void> | undefined {
    const m = this.#of(clientId, false);
    if (!m || m.size === 0) return undefined;
    const ids = [...m.keys()];
    const ops: WriteOp[] = ids.map((mid) => ({ type: 'del', key: K.incomingKey(clientId, mid), sublevel: this.sublevel }));
    return this.committer.commit(ops, () => {
      for (const mid of ids) m.delete(mid);
    });
  }
}
