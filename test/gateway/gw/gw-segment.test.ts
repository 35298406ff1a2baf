// Segment separation at the broker: the number-linkage server connects only on the number-linkage
// listener, and no other system connects there (real broker, two loopback listeners).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../broker/auth.js';
import { startBroker, type BrokerHandle } from '../../../broker/server.js';
import { configSchema } from '../../../config/schema/index.js';
import { createLogger } from '../../../platform/log/logger.js';
import { connectClient, endClient, refusal } from '../../helpers/mqtt.js';
import { createTestPki, type PemPair, type TestPki } from '../../helpers/pki.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';

const secrets: Record<string, string> = { NL_PW: 'nl-secret', TERM_PW: 'term-secret' };
const readSecret = (ref: { env?: string }) => secrets[ref.env ?? ''] ?? '';

function config(dataDir: string, localPort: number, nlPort: number) {
  return configSchema.parse({
    municipalities: ['242012'],
    dataDir,
    listeners: [
      { name: 'local', type: 'plain', host: '127.0.0.1', port: localPort, segment: 'local' },
      { name: 'number-linkage', type: 'plain', host: '127.0.0.1', port: nlPort, segment: 'number-linkage' },
    ],
    systems: [
      { id: 'nl-01', role: 'number-linkage', password: { env: 'NL_PW' } },
      { id: 'term-01', role: 'terminal', password: { env: 'TERM_PW' } },
    ],
  });
}

describe('authenticator: segment check', () => {
  const cfg = config('/tmp/unused', 1884, 1885);
  const auth = createAuthenticator(cfg, readSecret);
  const attempt = (user: string, pw: string, segment: 'local' | 'number-linkage') =>
    auth({ listenerType: 'plain', segment, peerCn: null, username: user, password: Buffer.from(pw), clientId: user, clean: true });
  it('admits each system on its own segment only', () => {
    expect(attempt('nl-01', 'nl-secret', 'number-linkage').ok).toBe(true);
    expect(attempt('term-01', 'term-secret', 'local').ok).toBe(true);
    expect(attempt('nl-01', 'nl-secret', 'local')).toMatchObject({
      ok: false,
      returnCode: 5,
      reason:
        'system nl-01 (role number-linkage) is configured but connected on the wrong listener: this listener serves the local segment only; connect on a number-linkage listener',
      systemId: 'nl-01',
    });
    expect(attempt('term-01', 'term-secret', 'number-linkage')).toMatchObject({
      ok: false,
      returnCode: 5,
      reason:
        'system term-01 (role terminal) is configured but connected on the wrong listener: this listener serves the number-linkage segment only; connect on a local listener',
      systemId: 'term-01',
    });
  });
});

describe('broker: number-linkage listener', () => {
  const dir = tempDir('jukigw-gwseg-');
  let broker: BrokerHandle;
  let local = 0;
  let nl = 0;
  beforeAll(async () => {
    local = await freePort();
    nl = await freePort();
    broker = await startBroker(config(dir.path, local, nl), { logger: createLogger({ level: 'silent' }), readSecret: readSecret });
  });
  afterAll(async () => {
    await broker?.close();
    dir.cleanup();
  });

  it('refuses the number-linkage server on the local listener and a terminal on the number-linkage listener', async () => {
    expect(await refusal(`mqtt://127.0.0.1:${local}`, { clientId: 'nl-01', username: 'nl-01', password: 'nl-secret' })).toBe(5);
    expect(await refusal(`mqtt://127.0.0.1:${nl}`, { clientId: 'term-01', username: 'term-01', password: 'term-secret' })).toBe(5);
    const ok = await connectClient(`mqtt://127.0.0.1:${nl}`, { clientId: 'nl-01', username: 'nl-01', password: 'nl-secret' });
    await endClient(ok);
    const t = await connectClient(`mqtt://127.0.0.1:${local}`, { clientId: 'term-01', username: 'term-01', password: 'term-secret' });
    await endClient(t);
  });
});

describe('broker: number-linkage listener with its own CA (mTLS)', () => {
  const dirs = [tempDir('jukigw-gwseg-local-'), tempDir('jukigw-gwseg-nl-'), tempDir('jukigw-gwseg-data-')];
  let localPki: TestPki;
  let nlPki: TestPki;
  let broker: BrokerHandle;
  let localUrl = '';
  let nlUrl = '';
  const opts = (ca: string, pair: PemPair | undefined, clientId: string) => ({
    clientId,
    ca,
    rejectUnauthorized: true,
    ...(pair ? { cert: pair.cert, key: pair.key } : {}),
  });

  beforeAll(async () => {
    localPki = await createTestPki(dirs[0]!.path, { clients: ['term-01', 'nl-01'], expired: 'term-01', revoked: 'term-01' });
    nlPki = await createTestPki(dirs[1]!.path, { clients: ['nl-01', 'term-01'], expired: 'nl-01', revoked: 'nl-01' });
    const [lp, np] = [await freePort(), await freePort()];
    const tls = (p: TestPki) => ({ cert: p.server.certFile, key: p.server.keyFile, ca: p.caFile, crl: [p.crlFile] });
    const cfg = configSchema.parse({
      municipalities: ['242012'],
      dataDir: dirs[2]!.path,
      listeners: [
        { name: 'local', type: 'tls', host: '127.0.0.1', port: lp, segment: 'local', tls: tls(localPki) },
        { name: 'number-linkage', type: 'tls', host: '127.0.0.1', port: np, segment: 'number-linkage', tls: tls(nlPki) },
      ],
      systems: [
        { id: 'nl-01', role: 'number-linkage' },
        { id: 'term-01', role: 'terminal' },
      ],
    });
    broker = await startBroker(cfg, { logger: createLogger({ level: 'silent' }) });
    localUrl = `mqtts://localhost:${lp}`;
    nlUrl = `mqtts://localhost:${np}`;
  }, 60_000);
  afterAll(async () => {
    await broker?.close();
    for (const d of dirs) d.cleanup();
  });

  it('admits the number-linkage server only with a certificate of the segment CA, on its listener', async () => {
    const ok = await connectClient(nlUrl, opts(nlPki.caPem, nlPki.clients['nl-01'], 'nl-01'));
    await endClient(ok);
    // A certificate for the same CN from the local segment's CA: refused at the TLS handshake.
    expect(await refusal(nlUrl, opts(nlPki.caPem, localPki.clients['nl-01'], 'nl-01'))).toBe('closed');
    // The number-linkage server on the local listener (local CA certificate): refused by the segment check.
    expect(await refusal(localUrl, opts(localPki.caPem, localPki.clients['nl-01'], 'nl-01'))).toBe(5);
    // A terminal certificate issued by the segment CA: refused by the segment check.
    expect(await refusal(nlUrl, opts(nlPki.caPem, nlPki.clients['term-01'], 'term-01'))).toBe(5);
    const t = await connectClient(localUrl, opts(localPki.caPem, localPki.clients['term-01'], 'term-01'));
    await endClient(t);
  });
});
