// One accepted publish fanned out to subscriber queues, held back from the disk (the committer's
// hold()): the in-memory index has its entries at once, the queue puts are built only when the
// fan-out is released, and only for entries still unacknowledged then. Until its batch is written
// the ingress log still holds the message (the fan-out watermark stays below its seq), so a crash
// replays it instead of losing it.
import type { HeldFanout, LazyValue, RawOp } from './writeTypes.js';
import * as K from './keys.js';
import type { ClientQueue } from './outgoingIndex.js';

export class QueueFanout<P> implements HeldFanout {
  constructor(
    readonly seq: number,
    private readonly clientIds: string[],
    private readonly value: LazyValue,
    private readonly queues: Map<string, ClientQueue>,
    /** Key prefix of the broker sublevel, where the queues are. */
    private readonly prefix: string,
    /** The ingress entry it fans out, handed back if its batch fails. */
    private readonly pending: P,
    /** Its batch failed: the message must be fanned out again (see LevelPersistence). */
    private readonly onFailed: (seq: number, pending: P) => void,
  ) {}

  /** Whether its release wrote anything (a batch of only acknowledged entries loses nothing). */
  #wrote = false;

  release(out: RawOp[]): void {
    const seq = this.seq;
    for (const id of this.clientIds) {
      const meta = this.queues.get(id)?.entries.get(seq);
      // acknowledged (or its session cleaned) before it was written: nothing to write or delete
      if (meta === undefined) continue;
      meta.unwritten = false;
      this.#wrote = true;
      out.push({ type: 'put', key: this.prefix + K.outKey(id, seq), value: this.value });
    }
  }

  failed(): void {
    if (this.#wrote) this.onFailed(this.seq, this.pending);
  }
}
