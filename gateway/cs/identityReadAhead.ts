// Read-ahead of current records (本人確認情報) for a pass of the intake: the records its updates will
// change, read in one getMany when the pass starts instead of one read per update, each read waiting
// for the update before it. A value is handed out once, to the next change of that person, and any
// change drops it: a second update of the same person in the pass reads the store again, after the
// intake has written the first (claims on the 住民票コード). A new pass replaces what is left.
import type { IdentityRecord } from './identityStoreTypes.js';

type Record = IdentityRecord | undefined;

export class RecordReadAhead {
  private ahead = new Map<string, Promise<Record>>();

  constructor(
    private readonly records: {
      currentMany(ps: readonly string[]): Promise<Record[]>;
      current(p: string): Promise<Record>;
    },
  ) {}

  /** Starts reading the records of `ps` (pseudonyms); forgets what an earlier pass left unused. */
  start(ps: readonly string[]): void {
    const unique = [...new Set(ps)];
    this.ahead = new Map();
    if (unique.length === 0) return;
    const all = this.records.currentMany(unique);
    unique.forEach((p, i) => {
      // A failed read-ahead costs only the read: the change reads its record itself.
      this.ahead.set(
        p,
        all.then(
          (rs) => rs[i],
          () => this.records.current(p),
        ),
      );
    });
  }

  /** The record of `p` read ahead, once (undefined when none is waiting: read it now). */
  take(p: string): Promise<Record> | undefined {
    const r = this.ahead.get(p);
    this.ahead.delete(p);
    return r;
  }
}
