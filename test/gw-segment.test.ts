// Segment separation at the broker: the number-linkage server connects only on the number-linkage
// listener, and no other system connects there (real broker, two loopback listeners).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../broker/auth.js';
import { startBroker, type BrokerHandle } from '../broker/server.js';
import { configSchema } from '../config/schema/index.js';
import { createLogger } from '../gateway/log/logger.js';
import { connectClient, endClient, refusal } from './helpers/mqtt.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';

const secrets: Record<string, string> = { NL_PW: 'nl-secret', TERM_PW: 'term-secret' };
const readSecret = (ref: { env?: string }) => secrets[ref.env ?? ''] ?? '';

function config(dataDir: string, localPort: number, nlPort: number) {
  return configSchema.parse({
    municipalities: ['242012'], dataDir,
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
  const auth = createAuthenticator(cfg, readSecret as never);
  const attempt = (user: string, pw: string, segment: 'local' | 'number-linkage') =>
    auth({ listenerType: 'plain', segment, peerCn: null, username: user, password: Buffer.from(pw), clientId: user, clean: true });
  it('admits each system on its own segment only', () => {
    expect(attempt('nl-01', 'nl-secret', 'number-linkage').ok).toBe(true);
    expect(attempt('term-01', 'term-secret', 'local').ok).toBe(true);
    expect(attempt('nl-01', 'nl-secret', 'local')).toMatchObject({ ok: false, returnCode: 5, reason: 'system nl-01 (role number-linkage) may not connect on a local listener' });
    expect(attempt('term-01', 'term-secret', 'number-linkage')).toMatchObject({ ok: false, returnCode: 5, reason: 'system term-01 (role terminal) may not connect on a number-linkage listener' });
  });
});

describe('broker: number-linkage listener', () => {
  const dir = tempDir('jukigw-gwseg-');
  let broker: BrokerHandle;
  let local = 0;
  let nl = 0;
  beforeAll(async () => {
    local = await freePort(); nl = await freePort();
    broker = await startBroker(config(dir.path, local, nl), { logger: createLogger({ level: 'silent' }), readSecret: readSecret as never });
  });
  afterAll(async () => { await broker?.close(); dir.cleanup(); });

  it('refuses the number-linkage server on the local listener and a terminal on the number-linkage listener', async () => {
    expect(await refusal(`mqtt://127.0.0.1:${local}`, { clientId: 'nl-01', username: 'nl-01', password: 'nl-secret' })).toBe(5);
    expect(await refusal(`mqtt://127.0.0.1:${nl}`, { clientId: 'term-01', username: 'term-01', password: 'term-secret' })).toBe(5);
    const ok = await connectClient(`mqtt://127.0.0.1:${nl}`, { clientId: 'nl-01', username: 'nl-01', password: 'nl-secret' });
    await endClient(ok);
    const t = await connectClient(`mqtt://127.0.0.1:${local}`, { clientId: 'term-01', username: 'term-01', password: 'term-secret' });
    await endClient(t);
  });
});
