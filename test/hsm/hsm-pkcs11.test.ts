// PKCS#11 signing on a throwaway SoftHSM2 token: keys generated on the token, ES256/PS256/RS256 JWS
// verified by ours and by jose, parallel sessions, CSR from the token key.
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hsmSection } from '../../config/schema/hsm.js';
import { uuidv7, nowIso, type Envelope } from '../../platform/envelope.js';
import { createDevCa, signCsr } from '../../hsm/dev-ca.js';
import { createSigner, createVerifier, certificateRequest, fromB64u, toPem, WrongPinError, type TokenSigner } from '../../hsm/index.js';
import { listKeys } from '../../hsm/pkcs11-key.js';
import type { Pkcs11TokenKey } from '../../hsm/pkcs11-token.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { tempDir } from '../helpers/tmp.js';

let token: SoftHsmToken;
const dir = tempDir('hsm-p11-');
const env = () => ({ TEST_HSM_PIN: token.pin });
const config = (over: object = {}) =>
  hsmSection.parse({ kind: 'pkcs11', module: token.module, tokenLabel: token.label, pin: { env: 'TEST_HSM_PIN' }, ...over });
const envelope = (): Envelope => ({
  v: 1,
  id: uuidv7(),
  type: 'identity.notify',
  from: 'lg:242012',
  to: 'pref:240001',
  at: nowIso(),
  corr: null,
  body: { pad: 'x'.repeat(800) },
});

beforeAll(() => {
  token = createSoftHsmToken();
});
afterAll(() => {
  dir.cleanup();
  token.cleanup();
});

describe('PKCS#11 token (SoftHSM2)', () => {
  const signers: TokenSigner[] = [];
  afterAll(async () => {
    for (const s of signers) await s.close();
  });

  // First in the file: PKCS#11 login state is per process, so no other session may be logged in yet.
  it('refuses a wrong PIN at start-up after one attempt', async () => {
    const started = Date.now();
    await expect(
      createSigner(config({ keyLabel: 'k-pin' }), { dataDir: dir.path, env: { TEST_HSM_PIN: 'wrong-pin' } }),
    ).rejects.toBeInstanceOf(WrongPinError);
    expect(Date.now() - started).toBeLessThan(5000);
    // the right PIN still works: one failure did not lock the token
    const s = await createSigner(config({ keyLabel: 'k-pin' }), { dataDir: dir.path, env: env(), generateIfMissing: true });
    await s.close();
  });

  it.each([
    ['ES256', 'k-ec'],
    ['PS256', 'k-rsa-pss'],
    ['RS256', 'k-rsa'],
  ] as const)('%s: key generated on the token signs JWS that ours and jose verify', async (algorithm, keyLabel) => {
    const c = config({ algorithm, keyLabel });
    await expect(createSigner(c, { dataDir: dir.path, env: env() })).rejects.toThrow(/no private key labelled/);
    const signer = await createSigner(c, { dataDir: dir.path, env: env(), generateIfMissing: true });
    signers.push(signer);
    expect(signer.status()).toMatchObject({ kind: 'pkcs11', ready: true });
    expect(signer.status().warning).toBeUndefined();
    const jws = await signer.signEnvelope(envelope());
    if (algorithm === 'ES256') expect(fromB64u(jws.signature)!.length).toBe(64);
    const pem = toPem(signer.certificateDer);
    expect(await createVerifier({ trustAnchorsPem: pem, peerCertificatesPem: pem, replayWindowSeconds: 300 }).verify(jws)).toMatchObject({
      ok: true,
      kid: signer.kid,
    });
    await jose.flattenedVerify(jws, await jose.importX509(pem, algorithm));
  });

  it('generates RSA 3072 keys on request', async () => {
    const signer = await createSigner(config({ algorithm: 'PS256', keyLabel: 'k-rsa-3072' }), {
      dataDir: dir.path,
      env: env(),
      generateIfMissing: true,
      rsaBits: 3072,
    });
    signers.push(signer);
    const jws = await signer.signEnvelope(envelope());
    expect(fromB64u(jws.signature)!.length).toBe(384);
    await jose.flattenedVerify(jws, await jose.importX509(toPem(signer.certificateDer), 'PS256'));
  });

  it('keys are sensitive and non-extractable; restart finds the same key', async () => {
    const t = signers[0]!.token as Pkcs11TokenKey;
    const keys = await t.withSession((lib, s) => listKeys(lib, s));
    expect(keys.map((k) => k.label).sort()).toEqual(['k-ec', 'k-pin', 'k-rsa', 'k-rsa-3072', 'k-rsa-pss']);
    for (const k of keys) expect(k).toMatchObject({ sensitive: true, extractable: false });
    expect(keys.find((k) => k.label === 'k-rsa')!.bits).toBe(2048);
    const again = await createSigner(config({ keyLabel: 'k-ec' }), { dataDir: dir.path, env: env() });
    expect(again.kid).toBe(signers[0]!.kid);
    await again.close();
    // the token by slot ID instead of label
    const bySlot = await createSigner(config({ keyLabel: 'k-ec', tokenLabel: undefined, slot: token.slot }), {
      dataDir: dir.path,
      env: env(),
    });
    expect(bySlot.kid).toBe(signers[0]!.kid);
    expect(bySlot.status().detail).toContain(`slot ${token.slot}`);
    expect(bySlot.status().facts).toMatchObject({ state: 'ready', place: { slot: String(token.slot) }, key: 'k-ec' });
    await bySlot.close();
  });

  it('signs in parallel over the session pool; every signature verifies', async () => {
    const signer = signers[0]!;
    const pem = toPem(signer.certificateDer);
    const v = createVerifier({ trustAnchorsPem: pem, peerCertificatesPem: pem, replayWindowSeconds: 300 });
    const results = await Promise.all(Array.from({ length: 200 }, () => signer.signEnvelope(envelope())));
    for (const jws of results) expect((await v.verify(jws)).ok).toBe(true);
  });

  it('one session: queued signatures and a withSession user share it in turn; payloads survive byte for byte', async () => {
    const one = await createSigner(config({ keyLabel: 'k-ec', sessions: 1 }), { dataDir: dir.path, env: env() });
    try {
      const pem = toPem(one.certificateDer);
      const v = createVerifier({ trustAnchorsPem: pem, peerCertificatesPem: pem, replayWindowSeconds: 300 });
      // Non-ASCII text (UTF-8 multi-byte, a surrogate pair) and one envelope past the encoder's scratch buffer.
      const envs = Array.from({ length: 60 }, (_, i) => {
        const e = envelope();
        e.body = { name: '住民 太郎 𠮷', pad: 'あ'.repeat(i === 30 ? 30_000 : i) };
        return e;
      });
      const signing = envs.map((e) => one.signEnvelope(e));
      const listed = (one.token as Pkcs11TokenKey).withSession((lib, s) => listKeys(lib, s).map((k) => k.label));
      const results = await Promise.all(signing);
      expect(await listed).toContain('k-ec');
      for (const [i, jws] of results.entries()) {
        expect(Buffer.from(jws.payload, 'base64url').toString('utf8')).toBe(JSON.stringify(envs[i]));
        expect(await v.verify(jws)).toMatchObject({ ok: true, envelope: envs[i] });
      }
    } finally {
      await one.close();
    }
  });

  it('makes a CSR signed by the token key that a CA certifies', async () => {
    const ca = await createDevCa(`${dir.path}/ca`);
    const csr = await certificateRequest(signers[0]!.token, 'CN=lg:242012, O=Tsu City');
    const der = await signCsr(ca, csr, { kind: 'signing' });
    expect(der.length).toBeGreaterThan(100);
  });
});
