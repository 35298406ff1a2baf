// One accepted publish in the ingress log (stored before PUBACK) until it is fanned out to the
// subscriber queues: the record a crash replays, and the commit waiter that files it once durable.
import type { RecordObject } from './codec.js';
import type { CommitWaiter } from './writeTypes.js';

export interface PendingIngress {
  record: RecordObject;
  storedAt: number;
  publishing: boolean;
}

/** The books an ingress entry updates once it is durable (or not). */
export interface IngressBooks {
  pending: Map<number, PendingIngress>;
  unfanned: Set<number>;
}

/**
 * One accepted publish on its way to the ingress log: its commit waiter and, once durable, its
 * pending-ingress record (one object per message instead of closures, a waiter and a record).
 */
export class IngressEntry implements PendingIngress, CommitWaiter {
  storedAt = 0;
  publishing = false;
  #done: ((err?: Error) => void) | undefined;

  constructor(
    readonly seq: number,
    readonly record: RecordObject,
    private readonly books: IngressBooks,
    done: (err?: Error) => void,
  ) {
    this.#done = done;
  }

  apply(): void {
    this.storedAt = Date.now();
    this.books.pending.set(this.seq, this);
  }

  undo(): void {
    this.books.unfanned.delete(this.seq); // nothing of it was written
  }

  done(err?: Error): void {
    const done = this.#done!;
    this.#done = undefined;
    done(err);
  }
}
