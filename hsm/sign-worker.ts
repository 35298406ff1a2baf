// Signing thread for one pool session. pkcs11js offers C_SignInit only in synchronous form, and
// SoftHSM spends longer in it (EC key work) than in C_Sign: with several sessions the Node main
// thread became the bottleneck. A worker thread runs C_SignInit + C_Sign for the digests the main
// thread posts, a batch per message. The library is per process: the worker loads the same module
// (C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED, which it accepts) and uses the session
// and key handles the main thread opened and logged in. It never finalizes, closes or logs out:
// the main thread owns the library state and the sessions.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { pkcs11js } from './pkcs11-module.js';

/** A failed signature as it crosses threads: the CKR code survives, so token-loss handling sees it. */
export interface SignFault { message: string; code: number | undefined; method: string | undefined }
export type SignOutcome = Uint8Array | SignFault;

export interface SignBatch { session: Buffer; key: Buffer; inputs: Buffer[] }

// Plain CommonJS evaluated in the worker: no TypeScript loader is needed there (tsx, vitest, node).
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.binding);
const lib = new pkcs11js.PKCS11();
lib.load(workerData.module);
try { lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK }); } catch (e) {
  if (e.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
const asBuffer = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const mechanism = workerData.mechanism;
const sigBytes = workerData.sigBytes;
let session, key;
parentPort.on('message', (m) => {
  if (!(m instanceof Uint8Array)) { session = asBuffer(m.session); key = asBuffer(m.key); return; }
  const inputs = asBuffer(m);
  let count = 0;
  for (let a = 0; a < inputs.length; count++) a += 4 + inputs.readUInt32LE(a);
  const out = Buffer.allocUnsafe(count * (sigBytes + 2));
  let faults, at = 0, i = 0, n = 0;
  while (at < inputs.length) {
    const len = inputs.readUInt32LE(at);
    const input = inputs.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    let written = 0;
    try {
      lib.C_SignInit(session, mechanism, key);
      written = lib.C_Sign(session, input, out.subarray(n + 2, n + 2 + sigBytes)).length;
    } catch (e) {
      (faults ??= [])[i] = { message: String(e && e.message || e), code: typeof e.code === 'number' ? e.code : undefined, method: e.method };
    }
    out.writeUInt16LE(written, n);
    n += 2 + written;
    i++;
  }
  parentPort.postMessage({ sigs: out.subarray(0, n), faults });
});
parentPort.postMessage('ready');
`;

const binding = createRequire(import.meta.url).resolve('pkcs11js');

export interface SignWorker {
  post(batch: SignBatch): void;
  /** Keeps the process alive only while a batch is out (the caller awaits it). */
  busy(on: boolean): void;
  terminate(): Promise<void>;
}

/**
 * Starts a signing thread; `onResults` gets each batch's outcomes in posting order, `onDown` once
 * if the thread fails to start or dies (the caller signs in-thread from then on).
 */
export function startSignWorker(module: string, mechanism: unknown, sigBytes: number,
  onResults: (outcomes: SignOutcome[]) => void, onDown: (reason: string) => void): SignWorker {
  // One packed buffer each way: a message of many small Buffers cost more to clone than the JWS.
  let session: Buffer | undefined, key: Buffer | undefined;
  const post = (b: SignBatch) => {
    if (!session?.equals(b.session) || !key?.equals(b.key)) {
      session = b.session; key = b.key;
      worker.postMessage({ session, key });
    }
    let size = 0;
    for (const x of b.inputs) size += 4 + x.length;
    const packed = Buffer.allocUnsafe(size);
    let at = 0;
    for (const x of b.inputs) { packed.writeUInt32LE(x.length, at); x.copy(packed, at + 4); at += 4 + x.length; }
    worker.postMessage(packed);
  };
  const unpack = (m: { sigs: Uint8Array; faults?: (SignFault | undefined)[] }): SignOutcome[] => {
    const sigs = asBuffer(m.sigs);
    const out: SignOutcome[] = [];
    for (let at = 0, i = 0; at < sigs.length; i++) {
      const len = sigs.readUInt16LE(at);
      const fault = m.faults?.[i];
      out.push(fault ?? sigs.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    return out;
  };
  const worker = new Worker(SOURCE, { eval: true, workerData: { binding, module, mechanism, sigBytes }, stdout: false, stderr: false });
  worker.unref();
  let down = false;
  const fail = (reason: string) => { if (!down) { down = true; onDown(reason); } };
  worker.on('message', (m: { sigs: Uint8Array; faults?: (SignFault | undefined)[] } | 'ready') => { if (m !== 'ready') onResults(unpack(m)); });
  worker.on('error', (e) => fail(e.message));
  worker.on('exit', (code) => fail(`signing thread exited (${code})`));
  return {
    post,
    busy: (on) => { if (on) worker.ref(); else worker.unref(); },
    async terminate() { down = true; await worker.terminate(); },
  };
}

/** The error a signing thread reported, as the in-thread call would have thrown it. */
export function faultError(f: SignFault): Error {
  return f.code !== undefined ? new pkcs11js.Pkcs11Error(f.message, f.code, f.method ?? '') : new Error(f.message);
}

export const isFault = (o: SignOutcome): o is SignFault => !(o instanceof Uint8Array);
export const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));
