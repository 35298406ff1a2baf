// Writes that acknowledge nothing (the delete of a delivered outbox entry, the inbox's mark of an
// upstream answer), gathered into one unsynced batch: those staged while one batch is written go
// out together in the next. One store write per message, taken one after the other, was the uplink's
// ceiling with a deep outbox. Each caller's promise settles when the batch holding its writes has
// been written, so what it does next (a partition moves on) still comes after its write.
import type { Batch, Db } from '../../platform/store/db.js';

interface Waiting {
  stage: (batch: Batch) => void;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class UnsyncedWrites {
  private waiting: Waiting[] = [];
  private writing?: Promise<void>;

  constructor(private readonly db: Db) {}

  /** Stages `stage`'s operations into the next batch; settles once that batch is written (or failed). */
  add(stage: (batch: Batch) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ stage, resolve, reject });
      // The first write waits for the current tick to end, so what else this tick stages joins it.
      this.writing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Resolves when nothing is staged or being written (before the store closes). */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      const batch = this.db.batch();
      try {
        for (const w of group) w.stage(batch);
      } catch (e) {
        await batch.close();
        for (const w of group) w.reject(e);
        continue;
      }
      await batch.write({ sync: false }).then(
        () => group.forEach((w) => w.resolve()),
        (e: unknown) => group.forEach((w) => w.reject(e)),
      );
    }
    this.writing = undefined;
  }
}
