// Last wills: on disk under w!{client}, served from memory; a will of a broker that is gone is
// streamed to aedes to be published.
import { Readable } from 'node:stream';
import type { GroupCommitter } from './committer.js';
import { decodeRecord, encodeRecord } from './codec.js';
import * as K from './keys.js';
import type { AnyPacket } from './aedesParts.js';
import type { Sublevel } from './writeTypes.js';

export class WillStore {
  readonly #wills = new Map<string, AnyPacket>();

  constructor(
    private readonly committer: GroupCommitter,
    private readonly sublevel: Sublevel,
    private readonly plain: (stored: Uint8Array) => Uint8Array,
  ) {}

  async load(): Promise<void> {
    for await (const [key, value] of this.sublevel.iterator(K.ALL_WILLS)) {
      this.#wills.set(K.unescapeId(key.slice(2)), decodeRecord(this.plain(value)));
    }
  }

  put(clientId: string, packet: AnyPacket, brokerId: unknown): Promise<void> {
    packet.brokerId = brokerId;
    packet.clientId = clientId;
    return this.committer.commit([{ type: 'put', key: K.willKey(clientId), value: encodeRecord(packet), sublevel: this.sublevel }], () => {
      this.#wills.set(clientId, packet);
    });
  }

  get(clientId: string): AnyPacket | undefined {
    return this.#wills.get(clientId);
  }

  async del(clientId: string): Promise<AnyPacket | undefined> {
    const will = this.#wills.get(clientId);
    if (!will) return undefined;
    await this.committer.commit([{ type: 'del', key: K.willKey(clientId), sublevel: this.sublevel }], () => {
      if (this.#wills.get(clientId) === will) this.#wills.delete(clientId);
    });
    return will;
  }

  streamOrphaned(brokers: Record<string, unknown>): Readable {
    const wills = this.#wills;
    function* orphaned(): Generator<AnyPacket> {
      for (const will of wills.values()) if (!brokers[will.brokerId]) yield will;
    }
    return Readable.from(orphaned());
  }
}
