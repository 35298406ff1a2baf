// The composition root (appliance/start.ts) with some components left out, as `juki-gw broker` and
// tests run it: what runs is in the handle's parts, and a component whose dependency is left out
// refuses the start naming both, with the DB released.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAppliance } from '../../appliance/start.js';
import { configSchema } from '../../config/schema/index.js';
import { createLogger } from '../../platform/log/logger.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('jukigw-composition-');
afterAll(() => tmp.cleanup());
const logger = createLogger({ level: 'silent' });

async function config(name: string) {
  return configSchema.parse({
    municipalities: ['242012'],
    dataDir: join(tmp.path, name),
    listeners: [{ name: 'local-dev', type: 'plain', host: '127.0.0.1', port: await freePort() }],
    broker: { syncWrites: false },
    admin: { host: '127.0.0.1', port: await freePort() },
    limits: { minFreeDiskBytes: 0 },
  });
}

describe('startAppliance with `only`', () => {
  it('broker and admin alone (juki-gw broker): those parts, no gateway parts, readiness of what runs', async () => {
    const c = await config('broker-only');
    const app = await startAppliance(c, { logger, only: ['broker', 'admin'] });
    try {
      const { parts } = app;
      expect(parts.broker?.address('local-dev').port).toBe(c.listeners[0]!.port);
      expect(parts.admin?.address().port).toBe(c.admin.port);
      expect({
        signer: parts.signer,
        atRest: parts.atRest,
        auditLog: parts.auditLog,
        versions: parts.versions,
        uplink: parts.uplink,
        cs: parts.cs,
        gw: parts.gw,
        uiUrl: parts.uiUrl,
      }).toEqual({
        signer: undefined,
        atRest: undefined,
        auditLog: undefined,
        versions: undefined,
        uplink: undefined,
        cs: undefined,
        gw: undefined,
        uiUrl: undefined,
      });
      // Without configuration versions the configuration is the one given.
      expect(parts.liveConfig.current()).toBe(c);
      const ready = (await (await fetch(`http://127.0.0.1:${c.admin.port}/readyz`)).json()) as { checks: Array<{ name: string }> };
      expect(ready.checks.map((x) => x.name)).toEqual(['db', 'disk-space', 'listeners']);
    } finally {
      await app.close();
    }
  });

  it.each([
    [['audit'] as const, "appliance component 'audit' needs 'hsm', which this start leaves out"],
    [['crypto', 'roles'] as const, "appliance component 'roles' needs 'broker', which this start leaves out"],
  ])('%j: the start is refused naming the missing dependency, and the DB is released', async (only, message) => {
    const c = await config(`missing-${only.join('-')}`);
    await expect(startAppliance(c, { logger, only })).rejects.toThrow(message);
    const db = await openApplianceDb(join(c.dataDir, 'db'));
    await db.close();
  });
});
