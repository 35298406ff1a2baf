// classic-level's `sync` write option (LevelDB's fsync), which abstract-level's option types leave out:
// declared once, so that a caller turning it off is typed. The commit path (commitPath.ts) reads it.
import type {} from 'abstract-level';

// A merged declaration repeats abstract-level's own type parameters, used or not.
/* eslint-disable @typescript-eslint/no-unused-vars */
declare module 'abstract-level' {
  interface AbstractChainedBatchWriteOptions {
    sync?: boolean;
  }
  interface AbstractPutOptions<K, V> {
    sync?: boolean;
  }
  interface AbstractDelOptions<K> {
    sync?: boolean;
  }
  interface AbstractBatchOptions<K, V> {
    sync?: boolean;
  }
}
/* eslint-enable @typescript-eslint/no-unused-vars */
