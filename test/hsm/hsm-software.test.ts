// Software token end to end: signer from the config factory, verifier with kid → certificate lookup.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { hsmSection } from '../../config/schema/hsm.js';
import { uuidv7, nowIso, type Envelope } from '../../platform/envelope.js';
import { createSigner, createVerifier, kidOf, toPem, SOFTWARE_WARNING, fromB64u } from '../../hsm/index.js';
import { softwareKeyFile, certificateFiles } from '../../hsm/create-signer.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hsm-sw-');
afterAll(() => dir.cleanup());

function envelope(over: Partial<Envelope> = {}): Envelope {
  return {
    v: 1,
    id: uuidv7(),
    type: 'identity.notify',
    from: 'lg:242012',
    to: 'pref:240001',
    at: nowIso(),
    corr: null,
    body: { n: 1 },
    ...over,
  };
}

describe('software token', () => {
  it.each(['ES256', 'PS256', 'RS256'] as const)('signs %s envelopes that our verifier accepts', async (algorithm) => {
    const config = hsmSection.parse({ kind: 'software', algorithm, keyLabel: `k-${algorithm}` });
    const signer = await createSigner(config, { dataDir: dir.path });
    expect(signer.status()).toMatchObject({ kind: 'software', ready: true, warning: SOFTWARE_WARNING });
    expect(statSync(softwareKeyFile(dir.path, config.keyLabel)).mode & 0o777).toBe(0o600);
    expect(signer.kid).toBe(kidOf(signer.certificateDer));

    const env = envelope();
    const jws = await signer.signEnvelope(env);
    const header = JSON.parse(fromB64u(jws.protected)!.toString());
    expect(header).toEqual({ alg: algorithm, typ: 'jn+json', kid: signer.kid, 'x5t#S256': signer.kid });
    if (algorithm === 'ES256') expect(fromB64u(jws.signature)!.length).toBe(64);

    const certPem = readFileSync(certificateFiles(config, dir.path).certFile, 'utf8');
    expect(certPem).toBe(toPem(signer.certificateDer));
    const verifier = createVerifier({ trustAnchorsPem: certPem, peerCertificatesPem: certPem, replayWindowSeconds: 300 });
    const r = await verifier.verify(jws);
    expect(r).toMatchObject({ ok: true, kid: signer.kid, envelope: env });
    expect(await verifier.verify(jws)).toMatchObject({ ok: false, code: 'replayed' });
    await signer.close();
  });

  it('says loudly in the log that the software key is not for production', async () => {
    const lines: string[] = [];
    const logger = {
      info() {},
      error() {},
      warn: (o: object, m = '') => {
        lines.push(`${m} ${JSON.stringify(o)}`);
      },
    };
    const s = await createSigner(hsmSection.parse({ kind: 'software', keyLabel: 'loud' }), { dataDir: dir.path, logger });
    expect(lines.some((l) => l.includes(SOFTWARE_WARNING))).toBe(true);
    expect(lines.some((l) => l.includes('self-signed development signing certificate'))).toBe(true);
    await s.close();
  });

  it('reuses the key and certificate across restarts', async () => {
    const config = hsmSection.parse({ kind: 'software', keyLabel: 'restart' });
    const a = await createSigner(config, { dataDir: dir.path });
    await a.close();
    const b = await createSigner(config, { dataDir: dir.path });
    expect(b.kid).toBe(a.kid);
    await b.close();
  });
});
