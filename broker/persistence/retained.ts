// Retained messages: on disk under r!{topic}, served from memory.
import { Readable } from 'node:stream';
import type { GroupCommitter } from './committer.js';
import { decodeRecord, encodeRecord } from './codec.js';
import * as K from './keys.js';
import { QLOBBER_OPTIONS, QlobberTrue, type AnyPacket } from './aedesParts.js';
import type { Sublevel, WriteOp } from './writeTypes.js';

export class RetainedStore {
  readonly #retained = new Map<string, AnyPacket>();

  constructor(
    private readonly committer: GroupCommitter,
    private readonly sublevel: Sublevel,
    private readonly plain: (stored: Uint8Array) => Uint8Array,
  ) {}

  async load(): Promise<void> {
    for await (const [key, value] of this.sublevel.iterator(K.ALL_RETAINED)) {
      this.#retained.set(key.slice(2), decodeRecord(this.plain(value)));
    }
  }

  /**
   * `fromIngress`: a client's publish whose ingress entry (retain flag included) stays until its
   * fan-out is written, which is after this op, so a crash replays it. Then the op is staged, not
   * awaited, so that aedes emits it in order with the publishes around it (a late one is dropped
   * from live delivery).
   */
  store(pkt: AnyPacket, fromIngress: boolean): Promise<void> | undefined {
    const packet = Object.assign({}, pkt);
    const key = K.retainedKey(packet.topic);
    const empty = !packet.payload || packet.payload.length === 0;
    const ops: WriteOp[] = [
      empty ? { type: 'del', key, sublevel: this.sublevel } : { type: 'put', key, value: encodeRecord(packet), sublevel: this.sublevel },
    ];
    const apply = () => {
      if (empty) this.#retained.delete(packet.topic);
      else this.#retained.set(packet.topic, packet);
    };
    if (fromIngress) {
      apply();
      this.committer.stage(ops);
      return undefined;
    }
    return this.committer.commit(ops, apply);
  }

  stream(patterns: string[]): Readable {
    const retained = this.#retained;
    function* matching(): Generator<AnyPacket> {
      for (const pattern of patterns) {
        const q = new QlobberTrue(QLOBBER_OPTIONS);
        q.add(pattern);
        for (const [topic, packet] of retained) if (q.test(topic)) yield packet;
      }
    }
    return Readable.from(matching());
  }
}
