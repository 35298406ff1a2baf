// The real appliance as `juki-gw start` composes it, with the embedded default (so: simulated upstreams
// on an embedded broker, SoftHSM token, admin UI), every port ephemeral and the data dir in a temp dir
// (JUKIGW_ overrides, as an operator would set them). A monitor account logs in to the UI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAppliance, type ApplianceHandle } from '../../appliance/start.js';
import { ensureDevPasswords } from '../../config/devPasswords.js';
import { loadConfig } from '../../config/load.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { createLogger } from '../../platform/log/logger.js';
import type { StoragePortFactory } from '../../platform/store/db.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

export const MONITOR = { user: 'monitor1', password: 'queue watcher password 7' };

export interface UiAppliance {
  app: ApplianceHandle;
  url: string;
  dataDir: string;
  /** The first-run admin password the appliance printed (empty on a restart: it is printed once). */
  firstAdminPassword: string;
  /** A terminal's identity search that the CS routes to the national server, through the `simulated` link. */
  searchUpstream(): Promise<Envelope>;
  close(): Promise<void>;
}

/**
 * `port`: where the store's writes go (default LevelDB itself). `dataDir`: an existing data dir to start on
 * again (a restart; the caller removes it), default a fresh temporary one. `logFile`: the JSON log lines (info and up), default none.
 */
export async function startUiAppliance(opts: { port?: StoragePortFactory; dataDir?: string; logFile?: string } = {}): Promise<UiAppliance> {
  const tmp = opts.dataDir === undefined ? tempDir('jukigw-uiapp-') : undefined;
  const dataDir = opts.dataDir ?? join(tmp!.path, 'data');
  const r = loadConfig(undefined, {
    JUKIGW_dataDir: dataDir,
    JUKIGW_listeners__0__port: String(await freePort()),
    JUKIGW_listeners__1__port: String(await freePort()),
    JUKIGW_admin__port: String(await freePort()),
    JUKIGW_ui__port: String(await freePort()),
    JUKIGW_limits__minFreeDiskBytes: '0',
  });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  ensureDevPasswords(r.config);
  let firstAdminPassword = '';
  const app = await startAppliance(r.config, {
    logger: opts.logFile ? createLogger({ level: 'info', destination: opts.logFile }) : createLogger({ level: 'silent' }),
    printOnce: (text) => (firstAdminPassword = /one-time password: (\S+)/.exec(text)?.[1] ?? ''),
    ...(opts.port ? { port: opts.port } : {}),
  });
  const auth = await openAuthStore({ db: app.parts.db, idleMinutes: 15 });
  // A new account must change its password first; done here so a login lands on the pages.
  const first = 'first password for monitor 1';
  if (!(await auth.account(MONITOR.user)))
    for (const problem of [
      await auth.createAccount(MONITOR.user, 'monitor', first),
      await auth.changePassword(MONITOR.user, first, MONITOR.password),
    ]) {
      if (problem) throw new Error(problem);
    }
  const mqttUrl = `mqtt://127.0.0.1:${app.parts.broker!.address('local-dev').port}`;
  const terminal = 'term-01';
  const password = readFileSync(join(dataDir, 'dev-passwords', terminal), 'utf8').trim();
  return {
    app,
    url: app.parts.uiUrl!,
    dataDir,
    firstAdminPassword,
    async searchUpstream() {
      const c = await connectClient(mqttUrl, { clientId: terminal, username: terminal, password, clean: false });
      try {
        await c.subscribeAsync(`res/${terminal}`, { qos: 1 });
        const id = uuidv7();
        const reply = new Promise<Envelope>((resolve) =>
          c.on('message', (_t, p) => {
            const e = JSON.parse(p.toString()) as Envelope;
            if (e.corr === id) resolve(e);
          }),
        );
        // No address: "address unknown" goes to the national server (DOMAIN.md routing).
        await c.publishAsync(
          'req/identity.search',
          JSON.stringify({
            v: 1,
            id,
            type: 'identity.search',
            body: {
              name: '津 花子',
              birthDate: '1989-01-07',
              dutyCode: 'D01',
              operatorId: 'op-1',
              terminalId: terminal,
            },
          }),
          { qos: 1 },
        );
        return await reply;
      } finally {
        await endClient(c);
      }
    },
    async close() {
      await app.close();
      tmp?.cleanup();
    },
  };
}
