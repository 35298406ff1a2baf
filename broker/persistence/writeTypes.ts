// What the group committer (committer.ts) takes and gives: write operations, lazily encoded values,
// held fan-outs, commit waiters, the fan-out watermark and the sealer of values at rest.
import type { AbstractSublevel } from 'abstract-level';
import type { Db } from '../../platform/store/db.js';

export type Sublevel = AbstractSublevel<Db, string | Buffer | Uint8Array, string, Uint8Array>;

/**
 * A value encoded only when its batch is written (not at all if every put of it is cancelled).
 * An object, not a closure: tsx (esbuild keepNames) wraps each named closure in a per-call
 * __name() that showed up in the broker's profile.
 */
export interface LazyValue {
  bytes(): Uint8Array;
}

/**
 * Encryption at rest for every value this persistence writes (personal data rides in request,
 * reply and push payloads). Keys are not sealed: they hold client ids, seqs and topics only.
 * Implemented by the gateway's keyring (gateway/crypto/keyring.ts); `unseal` throws on anything
 * that does not authenticate, so a sealed store never hands back forged or plaintext values.
 */
export interface ValueSealer {
  seal(plain: Uint8Array): Uint8Array;
  unseal(sealed: Uint8Array): Uint8Array;
}

export type WriteOp =
  { type: 'put'; key: string; value: Uint8Array | LazyValue; sublevel: Sublevel } | { type: 'del'; key: string; sublevel: Sublevel };

/** A batch operation with its sublevel prefix applied: the form LevelDB itself takes. */
export interface RawOp {
  type: 'put' | 'del';
  key: string;
  value?: Uint8Array | LazyValue;
}

/**
 * A fan-out held back from the disk (see hold()). It covers one ingress seq: the fan-out
 * watermark stays at or below it while it is held.
 */
export interface HeldFanout {
  readonly seq: number;
  /** Appends its ops (full keys) for the queue entries still unacknowledged now. */
  release(out: RawOp[]): void;
  /** The batch that carried its ops failed. */
  failed(err: Error): void;
}

/**
 * Who waits for a commit. Methods, not closures: the ingress passes one object per publish that
 * is also its pending-ingress record.
 */
export interface CommitWaiter {
  /** Runs (in queue order) only once the ops are durable. */
  apply?(): void;
  /** Runs if their batch failed. */
  undo?(): void;
  /** Called once, in queue order, after every waiter of the batch was applied; must not throw. */
  done(err?: Error): void;
}

/**
 * The fan-out watermark: every batch that releases fan-outs also records "every ingress seq below
 * W is fanned out" (one op per batch instead of one ingress delete per message). `lowest(held)`
 * gives W: the lowest ingress seq not yet fanned out, held back here, or `held` if lower.
 */
export interface Watermark {
  lowest(held: number): number;
  /** The op that records W; it rides in the batch that writes the fan-outs below W. */
  op(w: number): WriteOp & { type: 'put' };
  /** W is durable. */
  written(w: number): void;
}

export interface CommitterEvents {
  /** Writes started failing (first failed batch): nothing of it was applied, its callers were rejected. */
  onWriteError(err: Error): void;
  /** The first batch that succeeded after a failure. */
  onRecovered(): void;
}
