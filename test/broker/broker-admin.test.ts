// Admin port (/healthz, /readyz, /metrics) of the composed appliance, and the CLI lifecycle.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAppliance, type ApplianceHandle } from '../../appliance/start.js';
import { loadConfig } from '../../config/load.js';
import { configSchema, type ApplianceConfigInput } from '../../config/schema/index.js';
import { createLogger } from '../../platform/log/logger.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../fixtures/broker-setup.js';

async function configInput(dir: string, limits: ApplianceConfigInput['limits'] = {}): Promise<ApplianceConfigInput> {
  return {
    municipalities: ['242012'],
    dataDir: join(dir, 'data'),
    listeners: [{ name: 'local-dev', type: 'plain', host: '127.0.0.1', port: await freePort() }],
    broker: { mode: 'standalone', anonymousRole: 'conformance', syncWrites: false },
    roles: { conformance: { send: [], topics: { publish: ['#'], subscribe: ['#'] } } },
    admin: { host: '127.0.0.1', port: await freePort() },
    // An ephemeral port for the admin UI too: its default 8443 may be held by an appliance running on this machine.
    ui: { port: await freePort() },
    limits: { minFreeDiskBytes: 0, ...limits },
  };
}

const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
};

describe('admin port', () => {
  const tmp = tempDir('jukigw-admin-');
  let app: ApplianceHandle;
  let input: ApplianceConfigInput;
  beforeAll(async () => {
    input = await configInput(tmp.path);
    app = await startAppliance(configSchema.parse(input), { logger: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await app?.close();
    tmp.cleanup();
  });

  it('/healthz answers while the process lives', async () => {
    expect(await get(input.admin!.port!, '/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
  });

  it('/readyz is 200 with every check passing', async () => {
    const r = await get(input.admin!.port!, '/readyz');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { ready: boolean; checks: Array<{ name: string; ok: boolean }> };
    expect(body.ready).toBe(true);
    // The full appliance: store, disk, listeners, the signing token and the (simulated) upstream links.
    expect(body.checks.map((c) => c.name).sort()).toEqual(['db', 'disk-space', 'listeners', 'token', 'uplinks', 'upstream']);
    expect(body.checks.every((c) => c.ok)).toBe(true);
  });

  it("audits an upstream message that fails verification, with the verifier's reason as code", async () => {
    const up = await connectClient(app.parts.simulated!.upstream.url, { clientId: 'forger' });
    const forged = { protected: 'e30', payload: Buffer.from('{}').toString('base64url'), signature: 'AAAA' };
    await up.publishAsync('to/lg:242012/identity.notify', JSON.stringify(forged), { qos: 1 });
    await endClient(up);
    const entry = await until(async () => (await app.parts.auditLog!.query({ action: 'upstream.refusal' }))[0], 10_000);
    expect(entry.event.outcome).toBe('refused');
    expect(entry.event.code).toMatch(/^[a-z_]+$/);
    expect(entry.event.detail).toMatchObject({ link: 'simulated', topic: 'to/lg:242012/identity.notify' });
  });

  it('/metrics exposes connections, messages, queue depths and denials in Prometheus format', async () => {
    const url = `mqtt://127.0.0.1:${input.listeners![0]!.port}`;
    const c = await connectClient(url, { clientId: 'metrics-1' });
    await c.publishAsync('m/x', 'hello', { qos: 1 });
    expect(await refusal(url, { clientId: 'x', username: 'nobody', password: 'nope' })).toBe(4);
    const r = await get(input.admin!.port!, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    expect(r.text).toMatch(/^jukigw_broker_connections 1$/m);
    expect(r.text).toMatch(/^jukigw_broker_messages_in_total 1$/m);
    expect(r.text).toMatch(/^jukigw_denials_total\{reason="auth"\} 1$/m);
    expect(r.text).toContain('# TYPE jukigw_broker_queue_depth gauge');
    await endClient(c);
  });

  it('is refused on a non-loopback host', () => {
    expect(configSchema.safeParse({ municipalities: ['242012'], admin: { host: '0.0.0.0', port: 9464 } }).success).toBe(false);
  });
});

describe('readiness failure', () => {
  it('/readyz is 503 naming the failing check when free disk space is below the minimum', async () => {
    const tmp = tempDir('jukigw-admin-');
    const input = await configInput(tmp.path, { minFreeDiskBytes: Number.MAX_SAFE_INTEGER });
    const app = await startAppliance(configSchema.parse(input), { logger: createLogger({ level: 'silent' }) });
    try {
      const r = await get(input.admin!.port!, '/readyz');
      expect(r.status).toBe(503);
      const body = JSON.parse(r.text) as { ready: boolean; checks: Array<{ name: string; ok: boolean; detail?: string }> };
      expect(body.ready).toBe(false);
      expect(body.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['disk-space']);
    } finally {
      await app.close();
      tmp.cleanup();
    }
  });
});

describe('juki-gw broker --config FILE', () => {
  it('ships a valid standalone configuration for conformance suites', () => {
    const r = loadConfig('test/fixtures/broker-standalone.yaml', {});
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.broker).toMatchObject({ mode: 'standalone', anonymousRole: 'conformance' });
  });

  it('serves MQTT, and on SIGTERM closes listeners and flushes the DB, exit code 0', async () => {
    const tmp = tempDir('jukigw-cli-');
    const input = await configInput(tmp.path);
    const file = join(tmp.path, 'broker.yaml');
    writeFileSync(file, stringify(input));
    const child = spawn(process.execPath, ['bin/juki-gw.js', 'broker', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      out += String(d);
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until(() => out.includes('broker ready'), 30_000, 'broker ready');
      const c = await connectClient(`mqtt://127.0.0.1:${input.listeners![0]!.port}`, { clientId: 'cli-1' });
      await c.publishAsync('cli/x', 'y', { qos: 1 });
      await endClient(c);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('broker stopped');
      // The LevelDB lock is released: the DB opens again.
      const db = await openApplianceDb(join(input.dataDir!, 'db'));
      await db.close();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      tmp.cleanup();
    }
  });
});
