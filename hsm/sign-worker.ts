// Signing threads. pkcs11js offers C_SignInit only in synchronous form, and SoftHSM spends longer
// in it (EC key work) than in C_Sign: with several sessions the Node main thread became the
// bottleneck. A worker thread per pool session runs C_SignInit + C_Sign on the digests the main
// thread hands it. The hand-over is a ring in shared memory: a message each way per signature (or
// per small batch) cost the main thread more than the JWS itself. A thread posts a message only to
// wake a main thread that has run out of results (Atomics.waitAsync would avoid even that, but on
// Node 20 it misses a notify now and then: measured, a stall after ~10^5 round trips). The library is
// per process: the worker loads the same module (C_Initialize answers
// CKR_CRYPTOKI_ALREADY_INITIALIZED, which it accepts) and uses the session and key handles the main
// thread opened and logged in. It never finalizes, closes or logs out: the main thread owns them.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { pkcs11js } from './pkcs11-module.js';
import { ASLEEP, DIGEST, HANDLE, POSTED, REQ, RES, RES_BODY, RING_SLOTS, STOP, WRITTEN, type SignThreadData } from './sign-ring.js';

/** A failed signature as it crosses threads: the CKR code survives, so token-loss handling sees it. */
export interface SignFault {
  message: string;
  code: number | undefined;
  method: string | undefined;
}
export type SignOutcome = Buffer | SignFault;

export { RING_SLOTS } from './sign-ring.js';
const METHODS = ['C_SignInit', 'C_Sign'];

// The thread is a module of its own, beside this one: compiled, dist/hsm/sign-worker-thread.js runs
// as it is; from the TypeScript sources (tsx, vitest) the thread registers tsx before importing the
// .ts file, since a worker does not inherit the loader its parent registered.
const fromSources = import.meta.url.endsWith('.ts');
const THREAD = new URL(`./sign-worker-thread.${fromSources ? 'ts' : 'js'}`, import.meta.url);
const spawnThread = (options: WorkerOptions): Worker =>
  !fromSources
    ? new Worker(THREAD, options)
    : new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(THREAD.href)}); });`,
        { ...options, eval: true },
      );

export interface SignThreadsOptions {
  module: string;
  mechanism: unknown;
  sigBytes: number;
  count: number;
  /** One outcome per posted digest, per thread in posting order. */
  onResult: (thread: number, outcome: SignOutcome) => void;
  /** A thread failed to start or died: the caller signs its work elsewhere. Called once per thread. */
  onDown: (thread: number, reason: string) => void;
}

interface Ring {
  worker: Worker;
  ctrl: Int32Array;
  req: Buffer;
  res: Buffer;
  posted: number;
  drained: number;
  down: boolean;
}

export interface SignThreads {
  /** Hands a digest to thread `i`; false when its ring is full or the thread is down. */
  post(i: number, session: Buffer, key: Buffer, digest: Buffer): boolean;
  /** Digests thread `i` holds (posted, result not yet delivered). */
  pending(i: number): number;
  /** Stops thread `i` as if it had died (onDown follows): the fallback path, tested. */
  stop(i: number): Promise<void>;
  terminate(): Promise<void>;
}

/**
 * Starts `count` signing threads sharing one doorbell: the first thread to finish a signature while
 * the main thread waits wakes it, and the main thread then collects every result in every ring.
 */
export function startSignThreads(o: SignThreadsOptions): SignThreads {
  const bell = new Int32Array(new SharedArrayBuffer(4));
  const rings: Ring[] = [];
  let inFlight = 0,
    stopped = false;

  const open = (i: number): Ring => {
    const ctrl = new Int32Array(new SharedArrayBuffer(16));
    const reqMem = new SharedArrayBuffer(RING_SLOTS * REQ),
      resMem = new SharedArrayBuffer(RING_SLOTS * RES);
    const workerData: SignThreadData = {
      module: o.module,
      mechanism: o.mechanism,
      sigBytes: o.sigBytes,
      ctrl: ctrl.buffer,
      bell: bell.buffer,
      req: reqMem,
      res: resMem,
    };
    const worker = spawnThread({ stdout: false, stderr: false, workerData });
    worker.unref();
    const ring: Ring = { worker, ctrl, req: Buffer.from(reqMem), res: Buffer.from(resMem), posted: 0, drained: 0, down: false };
    const fail = (reason: string) => {
      if (ring.down) return;
      ring.down = true;
      inFlight -= ring.posted - ring.drained;
      ring.drained = ring.posted;
      if (!stopped) o.onDown(i, reason);
    };
    worker.on('message', collect);
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => fail(`signing thread exited (${code})`));
    return ring;
  };

  const outcome = (r: Ring, slot: number): SignOutcome => {
    const at = slot * RES,
      status = r.res.readInt32LE(at),
      len = r.res.readUInt16LE(at + 6);
    if (status === 0) return Buffer.from(r.res.subarray(at + RES_BODY, at + RES_BODY + len));
    const message = r.res.toString('utf8', at + RES_BODY, at + RES_BODY + len);
    return { message, code: status > 0 ? status : undefined, method: METHODS[r.res[at + 4]!] };
  };

  const drain = () => {
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i];
      if (!r || r.down) continue;
      const written = Atomics.load(r.ctrl, WRITTEN);
      while (r.drained !== written && !r.down) {
        const o2 = outcome(r, r.drained % RING_SLOTS);
        r.drained++;
        inFlight--;
        if (r.drained === r.posted) r.worker.unref();
        o.onResult(i, o2);
      }
    }
  };

  // The main thread never blocks. Done collecting, it raises the doorbell flag and looks once more;
  // a thread that finds the flag raised takes it down and posts a wake-up, so exactly one message
  // follows each time the main thread runs dry while signatures are out.
  const unseen = () => rings.some((r) => r && !r.down && Atomics.load(r.ctrl, WRITTEN) !== r.drained);
  let collecting = false;
  function collect() {
    if (collecting) return;
    collecting = true;
    try {
      collectLoop();
    } finally {
      collecting = false;
    }
  }
  function collectLoop() {
    for (;;) {
      drain();
      if (inFlight <= 0 || stopped) {
        Atomics.store(bell, 0, 0);
        return;
      }
      Atomics.store(bell, 0, 1);
      if (!unseen()) return;
      // Results came in meanwhile: collect them ourselves unless a thread already took the flag.
      if (Atomics.compareExchange(bell, 0, 1, 0) !== 1) return;
    }
  }
  // A post while nothing was out raises the flag, after the caller's turn (never from inside post:
  // results would be delivered before the caller has recorded what it posted). A post made while
  // results are delivered leaves it to the collecting loop.
  let scheduled = false;
  const listen = () => {
    if (collecting || scheduled || Atomics.load(bell, 0) !== 0) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      collect();
    });
  };

  for (let i = 0; i < o.count; i++) {
    try {
      rings[i] = open(i);
    } catch (e) {
      o.onDown(i, e instanceof Error ? e.message : String(e));
    }
  }

  const putHandle = (buf: Buffer, at: number, h: Buffer) => {
    if (h.length >= HANDLE) throw new Error(`PKCS#11 handle of ${h.length} bytes`);
    buf[at] = h.length;
    h.copy(buf, at + 1);
  };

  return {
    post(i, session, key, digest) {
      const r = rings[i];
      if (!r || r.down || stopped || r.posted - r.drained >= RING_SLOTS || digest.length !== DIGEST) return false;
      const at = (r.posted % RING_SLOTS) * REQ;
      putHandle(r.req, at, session);
      putHandle(r.req, at + HANDLE, key);
      digest.copy(r.req, at + 2 * HANDLE);
      if (r.posted === r.drained) r.worker.ref();
      r.posted++;
      inFlight++;
      Atomics.store(r.ctrl, POSTED, r.posted);
      if (Atomics.load(r.ctrl, ASLEEP) !== 0) Atomics.notify(r.ctrl, POSTED, 1);
      listen();
      return true;
    },
    pending: (i) => {
      const r = rings[i];
      return r && !r.down ? r.posted - r.drained : 0;
    },
    async stop(i) {
      await rings[i]?.worker.terminate();
    },
    async terminate() {
      stopped = true;
      for (const r of rings)
        if (r) {
          Atomics.store(r.ctrl, STOP, 1);
          Atomics.notify(r.ctrl, POSTED);
        }
      await Promise.all(rings.map((r) => r?.worker.terminate().catch(() => undefined)));
    },
  };
}

/** Where a token keeps its signing threads, for tests of the fallback (not an operator interface). */
export const SIGN_THREADS = Symbol('signThreads');

/** The error a signing thread reported, as the in-thread call would have thrown it. */
export function faultError(f: SignFault): Error {
  return f.code !== undefined ? new pkcs11js.Pkcs11Error(f.message, f.code, f.method ?? '') : new Error(f.message);
}

export const isFault = (o: SignOutcome): o is SignFault => !Buffer.isBuffer(o);
