// Verifier refusals (one code each), chain/CRL/expiry against a dev CA, persisted dedupe, and
// interoperability with the independent `jose` library in both directions.
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7, nowIso, type Envelope } from '../../platform/envelope.js';
import { SUBLEVELS } from '../../platform/store/db.js';
import { createDevCa, issueForPublicKey, issueWithNewKey, revoke, signCsr, type DevCa } from '../../hsm/dev-ca.js';
import '../../hsm/reflect-polyfill.js';
import * as x509 from '@peculiar/x509';
import { generateSoftwareKey } from '../../hsm/software-token.js';
import {
  b64u,
  certificateRequest,
  createVerifier,
  fromB64u,
  kidOf,
  levelDedupeStore,
  signerFromToken,
  softwareTokenFromKey,
  toPem,
  verifyMessage,
  pemBlocks,
  memoryDedupeStore,
  type FlattenedJws,
  type TokenSigner,
} from '../../hsm/index.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hsm-verify-');
let ca: DevCa;
let otherCa: DevCa;
let key: KeyObject;
let signer: TokenSigner;
let certPem: string;

function envelope(over: Partial<Envelope> = {}): Envelope {
  return {
    v: 1,
    id: uuidv7(),
    type: 'identity.notify',
    from: 'pref:240001',
    to: 'lg:242012',
    at: nowIso(),
    corr: null,
    body: { seq: 1 },
    ...over,
  };
}

async function caSigner(
  authority: DevCa,
  alg: 'ES256' | 'PS256' | 'RS256' = 'ES256',
  validity: { notBefore?: Date; notAfter?: Date } = {},
) {
  const k = generateSoftwareKey(alg);
  const token = softwareTokenFromKey(k, alg);
  const csr = await certificateRequest(token, 'CN=pref:240001');
  const der = validity.notAfter
    ? await issueForPublicKey(authority, token.spkiDer, { kind: 'signing', commonName: 'pref:240001', ...validity })
    : await signCsr(authority, csr, { kind: 'signing' });
  return { key: k, signer: signerFromToken(token, der), certPem: toPem(der) };
}

function tamper(s: string, at = Math.floor(s.length / 2)): string {
  const b = fromB64u(s)!;
  const i = Math.min(at, b.length - 1);
  b[i] = b[i]! ^ 0x01;
  return b64u(b);
}

beforeAll(async () => {
  ca = await createDevCa(`${dir.path}/ca`);
  otherCa = await createDevCa(`${dir.path}/other-ca`, 'some other CA');
  ({ key, signer, certPem } = await caSigner(ca));
});
afterAll(() => dir.cleanup());

const verifierFor = (peers: string | string[] = certPem, extra: object = {}) =>
  createVerifier({ trustAnchorsPem: ca.certPem, peerCertificatesPem: peers, replayWindowSeconds: 300, ...extra });

describe('verifier', () => {
  it('accepts a message signed by a CA-certified key (kid → configured peer certificate)', async () => {
    const env = envelope();
    const r = await verifierFor().verify(await signer.signEnvelope(env));
    expect(r).toEqual({ ok: true, envelope: env, kid: signer.kid, signerSubject: 'CN=pref:240001' });
  });

  it.each(['PS256', 'RS256'] as const)('accepts %s', async (alg) => {
    const s = await caSigner(ca, alg);
    const r = await verifierFor(s.certPem).verify(await s.signer.signEnvelope(envelope()));
    expect(r.ok).toBe(true);
  });

  it('refuses each fault with its own code', async () => {
    const v = verifierFor();
    const good = await signer.signEnvelope(envelope());
    const header = JSON.parse(fromB64u(good.protected)!.toString()) as Record<string, unknown>;
    const withHeader = async (h: object) => {
      const p = b64u(JSON.stringify(h));
      return { ...good, protected: p };
    };
    const cases: [unknown, string][] = [
      [envelope(), 'malformed'],
      ['{not json', 'malformed'],
      [{ ...good, signature: undefined }, 'malformed'],
      [{ ...good, payload: 'a+b/' }, 'malformed'],
      [await withHeader({ ...header, alg: 'none' }), 'unsupported_alg'],
      [await withHeader({ ...header, alg: 'HS256' }), 'unsupported_alg'],
      [await withHeader({ ...header, typ: 'JWT' }), 'bad_typ'],
      [await withHeader({ ...header, kid: 'AAAA', 'x5t#S256': 'AAAA' }), 'unknown_key'],
      [await withHeader({ ...header, alg: 'RS256' }), 'bad_signature'],
      [{ ...good, signature: tamper(good.signature) }, 'bad_signature'],
      [{ ...good, payload: tamper(good.payload) }, 'bad_signature'],
    ];
    for (const [input, code] of cases) expect(await v.verify(input), code).toMatchObject({ ok: false, code });

    const stale = await signer.signEnvelope(envelope({ at: nowIso(Date.now() - 301_000) }));
    expect(await v.verify(stale)).toMatchObject({ ok: false, code: 'stale' });
    const future = await signer.signEnvelope(envelope({ at: nowIso(Date.now() + 301_000) }));
    expect(await v.verify(future)).toMatchObject({ ok: false, code: 'future' });
    const notEnvelope = await signer.signBytes(Buffer.from(JSON.stringify({ v: 2 })));
    expect(await v.verify(notEnvelope)).toMatchObject({ ok: false, code: 'bad_envelope' });
    expect(await v.verify(good)).toMatchObject({ ok: true });
    expect(await v.verify(good)).toMatchObject({ ok: false, code: 'replayed' });
    // two copies arriving at the same time: exactly one passes
    const twin = await signer.signEnvelope(envelope());
    const both = await Promise.all([v.verify(twin), v.verify(twin), v.verify(JSON.stringify(twin))]);
    expect(both.filter((r) => r.ok)).toHaveLength(1);
    expect(both.filter((r) => !r.ok && r.code === 'replayed')).toHaveLength(2);
  });

  it('refuses a certificate from another CA, an expired one and a revoked one', async () => {
    const foreign = await caSigner(otherCa);
    expect(await verifierFor(foreign.certPem).verify(await foreign.signer.signEnvelope(envelope()))).toMatchObject({
      ok: false,
      code: 'untrusted_chain',
    });

    const expired = await caSigner(ca, 'ES256', {
      notBefore: new Date(Date.now() - 10 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    expect(await verifierFor(expired.certPem).verify(await expired.signer.signEnvelope(envelope()))).toMatchObject({
      ok: false,
      code: 'certificate_expired',
    });

    const victim = await caSigner(ca);
    const crlPem = await revoke(ca, victim.certPem);
    const v = verifierFor([victim.certPem, certPem], { crlPem });
    expect(await v.verify(await victim.signer.signEnvelope(envelope()))).toMatchObject({ ok: false, code: 'certificate_revoked' });
    expect(await v.verify(await signer.signEnvelope(envelope()))).toMatchObject({ ok: true });
    // A CRL signed by another CA does not count.
    const forged = await revoke(otherCa, certPem);
    expect(await verifierFor(certPem, { crlPem: forged }).verify(await signer.signEnvelope(envelope()))).toMatchObject({ ok: true });
  });

  it('builds the path through an intermediate CA from a peer file or x5c', async () => {
    const inter = await issueWithNewKey(ca, { kind: 'ca', commonName: 'juki-gw intermediate' });
    const interCa: DevCa = {
      dir: '',
      certPem: inter.certPem,
      cert: new x509.X509Certificate(inter.certPem),
      key: await webcrypto.subtle.importKey(
        'pkcs8',
        pemBlocks(inter.keyPem, 'PRIVATE KEY')[0]!,
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      ),
    };
    const leaf = await caSigner(interCa);
    const jws = await leaf.signer.signEnvelope(envelope());
    expect(await verifierFor([leaf.certPem + inter.certPem]).verify(jws)).toMatchObject({ ok: true });
    expect(await verifierFor([leaf.certPem]).verify(jws)).toMatchObject({ ok: false, code: 'untrusted_chain' });
    const x5c = [leaf.signer.certificateDer, pemBlocks(inter.certPem)[0]!].map((d) => Buffer.from(d).toString('base64'));
    const withChain = await new jose.FlattenedSign(Buffer.from(JSON.stringify(envelope())))
      .setProtectedHeader({ alg: 'ES256', typ: 'jn+json', kid: leaf.signer.kid, 'x5t#S256': leaf.signer.kid, x5c })
      .sign(leaf.key);
    expect(await createVerifier({ trustAnchorsPem: ca.certPem, replayWindowSeconds: 300 }).verify(withChain)).toMatchObject({ ok: true });
  });

  it('honours the algorithm allow-list', async () => {
    const v = verifierFor(certPem, { algorithms: ['PS256'] });
    expect(await v.verify(await signer.signEnvelope(envelope()))).toMatchObject({ ok: false, code: 'unsupported_alg' });
    expect(() => verifierFor(certPem, { algorithms: ['HS256'] })).toThrow(/not allowed/);
  });

  it('keeps the duplicate-id window across a restart (LevelDB sublevel)', async () => {
    const path = `${dir.path}/db`;
    const env = envelope();
    const jws = await signer.signEnvelope(env);
    let db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
    const store1 = levelDedupeStore(db.sublevel<string, Uint8Array>(SUBLEVELS.inbox, { valueEncoding: 'view' }));
    expect(await verifierFor(certPem, { dedupe: store1 }).verify(jws)).toMatchObject({ ok: true });
    await db.close();
    db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
    const store2 = levelDedupeStore(db.sublevel<string, Uint8Array>(SUBLEVELS.inbox, { valueEncoding: 'view' }));
    expect(await verifierFor(certPem, { dedupe: store2 }).verify(jws)).toMatchObject({ ok: false, code: 'replayed' });
    // check-only mode refuses a seen id but does not record a new one
    const fresh = await signer.signEnvelope(envelope());
    const v = verifierFor(certPem, { dedupe: store2 });
    expect(await v.verify(fresh, { dedupe: false })).toMatchObject({ ok: true });
    expect(await v.verify(fresh, { dedupe: false })).toMatchObject({ ok: true });
    expect(await store2.sweep(Date.now() + 8 * 86400_000)).toBe(1);
    expect(await store2.seen(env.id, Date.now())).toBe(false);
    await db.close();
  });

  it('sweeps expired ids in the background', async () => {
    const store = memoryDedupeStore();
    const v = verifierFor(certPem, { dedupe: store, replayWindowSeconds: 5, dedupeWindowSeconds: 10 });
    const a = envelope();
    expect(await v.verify(await signer.signEnvelope(a))).toMatchObject({ ok: true });
    const later = Date.now() + 61_000;
    expect(await v.verify(await signer.signEnvelope(envelope({ at: nowIso(later) })), { now: later })).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 10));
    expect(await store.seen(a.id, 0)).toBe(false);
  });

  it('validates a signer certificate carried in x5c to the anchors', async () => {
    const x5c = [Buffer.from(signer.certificateDer).toString('base64')];
    const jws = await new jose.FlattenedSign(Buffer.from(JSON.stringify(envelope())))
      .setProtectedHeader({ alg: 'ES256', typ: 'jn+json', kid: signer.kid, 'x5t#S256': signer.kid, x5c })
      .sign(key);
    expect(await createVerifier({ trustAnchorsPem: ca.certPem, replayWindowSeconds: 300 }).verify(jws)).toMatchObject({ ok: true });
    expect(await createVerifier({ trustAnchorsPem: otherCa.certPem, replayWindowSeconds: 300 }).verify(jws)).toMatchObject({
      ok: false,
      code: 'untrusted_chain',
    });
    expect(await createVerifier({ trustAnchorsPem: ca.certPem, replayWindowSeconds: 300, acceptX5c: false }).verify(jws)).toMatchObject({
      ok: false,
      code: 'unknown_key',
    });
  });
});

describe('interoperability with the jose library', () => {
  it('messages we sign verify with jose; one flipped byte fails both', async () => {
    const pub = await jose.importX509(certPem, 'ES256');
    const jws = await signer.signEnvelope(envelope());
    const r = await jose.flattenedVerify(jws, pub);
    expect(r.protectedHeader).toEqual({ alg: 'ES256', typ: 'jn+json', kid: kidOf(signer.certificateDer), 'x5t#S256': signer.kid });
    expect(JSON.parse(Buffer.from(r.payload).toString())).toEqual(JSON.parse(fromB64u(jws.payload)!.toString()));

    const headerText = fromB64u(jws.protected)!.toString();
    const tampered: FlattenedJws[] = [
      { ...jws, payload: tamper(jws.payload) },
      // one byte of the header, keeping it valid JSON: a letter of "jn+json" → "jn+jsoo"
      { ...jws, protected: b64u(headerText.replace('jn+json', 'jn+jsoo')) },
      { ...jws, signature: tamper(jws.signature, 10) },
    ];
    for (const t of tampered) {
      await expect(jose.flattenedVerify(t, pub)).rejects.toThrow();
      expect((await verifierFor().verify(t)).ok).toBe(false);
    }
  });

  it.each(['ES256', 'PS256', 'RS256'] as const)('messages jose signs with %s verify with ours; tampering fails both', async (alg) => {
    const s = await caSigner(ca, alg);
    const pub = createPublicKey(s.key);
    const sign = (env: Envelope) =>
      new jose.FlattenedSign(Buffer.from(JSON.stringify(env)))
        .setProtectedHeader({ alg, typ: 'jn+json', kid: s.signer.kid, 'x5t#S256': s.signer.kid })
        .sign(s.key);
    const v = verifierFor(s.certPem);
    const env = envelope();
    expect(await v.verify(await sign(env))).toMatchObject({ ok: true, envelope: env });
    const fresh = (await sign(envelope())) as FlattenedJws;
    for (const t of [
      { ...fresh, payload: tamper(fresh.payload) },
      { ...fresh, signature: tamper(fresh.signature, 5) },
      { ...fresh, protected: b64u(fromB64u(fresh.protected)!.toString().replace('jn+json', 'jn+jsoo')) },
    ]) {
      expect((await v.verify(t)).ok).toBe(false);
      await expect(jose.flattenedVerify(t, pub)).rejects.toThrow();
    }
    expect(await v.verify(fresh)).toMatchObject({ ok: true });
  });

  it('verifyMessage (kit entry point) accepts a text message', async () => {
    const jws = await signer.signEnvelope(envelope());
    expect(await verifyMessage(JSON.stringify(jws), { trustAnchorsPem: ca.certPem, peerCertificatesPem: certPem })).toMatchObject({
      ok: true,
    });
  });
});
