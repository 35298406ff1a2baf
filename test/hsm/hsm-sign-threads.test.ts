// Signing threads (hsm/sign-worker.ts): one worker per pool session signs on the same token, key
// and logged-in sessions as the main thread; signatures verify, batches keep their order per job,
// the in-thread path (signingThreads: false) signs the same way, and a thread that dies hands its
// work back to the main thread.
import { createPublicKey, verify } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPkcs11Token, type Pkcs11TokenKey } from '../../hsm/index.js';
import { MAX_SIGNING_THREADS } from '../../hsm/pkcs11-token.js';
import { SIGN_THREADS } from '../../hsm/sign-worker.js';
import { createSoftHsmToken } from '../helpers/softhsm.js';

const token = createSoftHsmToken({ label: 'threads' });
let open: Pkcs11TokenKey | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});
afterAll(() => token.cleanup());

const warnings: string[] = [];
const logger = {
  info() {},
  error() {},
  warn: (_: object, msg?: string) => {
    warnings.push(msg ?? '');
  },
};
const openToken = (signingThreads?: boolean, sessions = 4) =>
  openPkcs11Token({
    module: token.module,
    tokenLabel: token.label,
    pin: token.pin,
    key: { label: 'k' },
    alg: 'ES256',
    sessions,
    generateIfMissing: true,
    logger,
    ...(signingThreads === undefined ? {} : { signingThreads }),
  });

async function signManyAndVerify(t: Pkcs11TokenKey, count: number) {
  const messages = Array.from({ length: count }, (_, i) => `message ${i} ${'x'.repeat(i % 50)}`);
  const sigs = await Promise.all(messages.map((m) => t.sign(m)));
  const pub = createPublicKey({ key: t.spkiDer, format: 'der', type: 'spki' });
  for (let i = 0; i < count; i++) {
    expect(sigs[i]!.length).toBe(64);
    expect(verify('sha256', Buffer.from(messages[i]!), { key: pub, dsaEncoding: 'ieee-p1363' }, sigs[i]!)).toBe(true);
  }
  // Each signature belongs to its own message, not to a neighbour in the same batch.
  expect(verify('sha256', Buffer.from(messages[1]!), { key: pub, dsaEncoding: 'ieee-p1363' }, sigs[0]!)).toBe(false);
}

describe('PKCS#11 signing threads', () => {
  it('signs in one thread per session by default; every signature verifies against its own message', async () => {
    open = openToken();
    expect(open.signingThreads).toBe(4);
    await signManyAndVerify(open, 300);
    // withSession still gets a session of the pool between batches.
    const info = await open.withSession((lib, s) => lib.C_GetSessionInfo(s));
    expect(info.state).toBeGreaterThan(0);
    await signManyAndVerify(open, 20);
  });

  it('starts at most MAX_SIGNING_THREADS threads; the sessions beyond sign on the main thread beside them', async () => {
    open = openToken(undefined, MAX_SIGNING_THREADS + 2);
    expect(open.signingThreads).toBe(MAX_SIGNING_THREADS);
    await signManyAndVerify(open, 400);
  });

  it('signingThreads: false signs on the main thread, same key, same result', async () => {
    open = openToken(false);
    expect(open.signingThreads).toBe(0);
    await signManyAndVerify(open, 100);
  });

  it('closing with signatures in flight settles every one of them (signed, or refused as unavailable)', async () => {
    open = openToken();
    const pending = Array.from({ length: 200 }, (_, i) =>
      open!.sign(`m${i}`).then(
        () => 'signed',
        (e: Error) => e.name,
      ),
    );
    await open.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes.length).toBe(200);
    for (const o of outcomes) expect(['signed', 'TokenUnavailableError']).toContain(o);
    open = undefined;
  });
});

describe('PKCS#11 signing threads: a thread that dies', () => {
  it('hands what it held back to the main thread; every signature still verifies and nothing is lost', async () => {
    open = openToken();
    const threads = open[SIGN_THREADS]!;
    const pub = createPublicKey({ key: open.spkiDer, format: 'der', type: 'spki' });
    const messages = Array.from({ length: 400 }, (_, i) => `m${i}`);
    const pending = messages.map((m) => open!.sign(m));
    expect(threads.pending(0) + threads.pending(1)).toBeGreaterThan(0);
    warnings.length = 0;
    // Two threads stop while signatures are out on them (as if they had crashed).
    await Promise.all([threads.stop(0), threads.stop(1)]);
    const sigs = await Promise.all(pending);
    for (let i = 0; i < messages.length; i++) {
      expect(verify('sha256', Buffer.from(messages[i]!), { key: pub, dsaEncoding: 'ieee-p1363' }, sigs[i]!)).toBe(true);
    }
    expect(open.signingThreads).toBe(2);
    expect(warnings.filter((w) => w.includes('signing thread unavailable')).length).toBe(2);
    // Their sessions sign on the main thread from now on, next to the two threads still running.
    await signManyAndVerify(open, 200);
  });
});
