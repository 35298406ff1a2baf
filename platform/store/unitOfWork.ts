import type { Batch, Db } from './db.js';

/**
 * One atomic change across sublevels, plus what must happen once it is durable (wake the outbox,
 * the local deliverer...). Components add their operations to `batch` and register `afterCommit`
 * hooks, so a flow cannot forget to notify a queue it wrote to.
 */
export class UnitOfWork {
  readonly batch: Batch;
  private readonly hooks = new Set<() => void>();
  private done = false;

  /** `batch`: a group commit's staged batch (store/groupCommit.ts); a plain batch of `db` otherwise. */
  constructor(db: Db, batch?: Batch) {
    this.batch = batch ?? db.batch();
  }

  afterCommit(hook: () => void): void {
    this.hooks.add(hook);
  }

  async commit(): Promise<void> {
    if (this.done) throw new Error('unit of work already committed or abandoned');
    this.done = true;
    await this.batch.write();
    for (const h of this.hooks) h();
  }

  async abandon(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.batch.close();
  }
}
