// The signing thread itself (started by sign-worker.ts, which explains the design): loads the same
// PKCS#11 module, then signs the digests the main thread posts in its ring until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import {
  ASLEEP,
  DIGEST,
  HANDLE,
  POSTED,
  REQ,
  RES,
  RES_BODY,
  RING_SLOTS as SLOTS,
  STOP,
  WRITTEN,
  type SignThreadData,
} from './sign-ring.js';

const data = workerData as SignThreadData;
const { sigBytes, mechanism } = data;
const lib = new pkcs11js.PKCS11();
lib.load(data.module);
try {
  lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (e) {
  if ((e as { code?: unknown }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
const ctrl = new Int32Array(data.ctrl);
const bell = new Int32Array(data.bell);
const req = Buffer.from(data.req);
const res = Buffer.from(data.res);
const handle = (at: number) => req.subarray(at + 1, at + 1 + req[at]!);
let head = 0;
for (;;) {
  let posted = Atomics.load(ctrl, POSTED);
  if (posted === head) {
    // Asleep is announced before the last look, so a post after it always sees it and wakes us.
    Atomics.store(ctrl, ASLEEP, 1);
    posted = Atomics.load(ctrl, POSTED);
    if (posted === head && Atomics.load(ctrl, STOP) === 0) Atomics.wait(ctrl, POSTED, head);
    Atomics.store(ctrl, ASLEEP, 0);
    if (Atomics.load(ctrl, STOP) !== 0) break;
    continue;
  }
  while (head !== posted) {
    const slot = head % SLOTS,
      at = slot * REQ,
      out = slot * RES;
    const session = handle(at),
      key = handle(at + HANDLE),
      digest = req.subarray(at + 2 * HANDLE, at + 2 * HANDLE + DIGEST);
    let method = 0;
    try {
      lib.C_SignInit(session, mechanism as pkcs11js.Mechanism, key);
      method = 1;
      const sig = lib.C_Sign(session, digest, res.subarray(out + RES_BODY, out + RES_BODY + sigBytes));
      res.writeInt32LE(0, out);
      res.writeUInt16LE(sig.length, out + 6);
    } catch (e) {
      const code = e && typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : -1;
      const n = res.write(String((e as Error | undefined)?.message || e).slice(0, 200), out + RES_BODY, RES - RES_BODY, 'utf8');
      res.writeInt32LE(code, out);
      res[out + 4] = method;
      res.writeUInt16LE(n, out + 6);
    }
    head++;
    Atomics.store(ctrl, WRITTEN, head);
    // The main thread said it waits: one thread claims the flag and wakes it.
    if (Atomics.load(bell, 0) === 1 && Atomics.compareExchange(bell, 0, 1, 0) === 1) parentPort!.postMessage(0);
  }
}
