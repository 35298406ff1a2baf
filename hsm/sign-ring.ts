// Layout of the shared-memory rings between the main thread and a signing thread (sign-worker.ts,
// sign-worker-thread.ts): both sides read these, so they live in one place.

/** Signatures a thread holds at once; a full ring leaves the job with the pool's queue. */
export const RING_SLOTS = 32;
// Request slot: session handle, key handle (length-prefixed, ≤ 16 bytes each), 32-byte digest.
export const HANDLE = 17,
  DIGEST = 32,
  REQ = 2 * HANDLE + DIGEST;
// Result slot: int32 status (0 signed, > 0 CKR code, -1 other error), method, length, then the
// signature or an error message.
export const RES = 256,
  RES_BODY = 8;
// Control words: requests posted, results written, worker asleep, stop.
export const POSTED = 0,
  WRITTEN = 1,
  ASLEEP = 2,
  STOP = 3;

/** What the main thread hands a signing thread at start. */
export interface SignThreadData {
  module: string;
  mechanism: unknown;
  sigBytes: number;
  ctrl: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  req: SharedArrayBuffer;
  res: SharedArrayBuffer;
}
