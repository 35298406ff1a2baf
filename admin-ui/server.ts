// Starts the admin UI: HTTPS on the configured address, accounts in the appliance LevelDB.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { z } from 'zod';
import type { Db } from '../platform/store/db.js';
import type { Logger } from '../platform/log/logger.js';
import type { uiSection } from '../config/schema/admin.js';
import { createAdminApp } from './app.js';
import { openAuthStore } from './auth/store.js';
import type { ApplianceServices } from './services.js';
import { fingerprint, uiTlsMaterial, type TlsMaterial } from './tls.js';

export type UiConfig = z.infer<typeof uiSection>;

export interface AdminUiOptions {
  config: UiConfig;
  services: ApplianceServices;
  logger: Logger;
  /** The appliance LevelDB (accounts, sessions, tokens in sublevel `ui`). */
  db: Db;
  /** Where a generated self-signed certificate is kept when ui.tls is not configured. */
  dataDir: string;
  /** Test or caller supplied TLS material (overrides ui.tls). */
  tls?: TlsMaterial;
  /** Prints the first-run one-time admin password once (default: stderr, never the log). */
  printOnce?: (text: string) => void;
}

export interface AdminUiHandle {
  url: string;
  close(): Promise<void>;
}

export async function startAdminUi(opts: AdminUiOptions): Promise<AdminUiHandle> {
  const log = opts.logger.child({ component: 'admin-ui' });
  const auth = await openAuthStore({ db: opts.db, idleMinutes: opts.config.sessionIdleMinutes });
  const first = await auth.ensureFirstAdmin();
  if (first) {
    (opts.printOnce ?? ((t) => process.stderr.write(t)))(
      `\njuki-gw admin UI: first-run account "admin", one-time password: ${first}\nIt is shown only now and must be changed at the first login.\n\n`,
    );
    await opts.services.audit.append({
      action: 'account.first-admin',
      actor: 'system',
      outcome: 'ok',
      target: 'admin',
      detail: 'one-time password issued',
    });
  }
  const tls = opts.tls
    ? { ...opts.tls, generated: false }
    : await uiTlsMaterial({ tls: opts.config.tls, dataDir: opts.dataDir, host: opts.config.host });
  if (tls.generated || !opts.config.tls)
    log.warn({ sha256: fingerprint(tls.cert) }, 'admin UI uses a self-signed certificate; compare this fingerprint in the browser');
  const app = createAdminApp({
    services: opts.services,
    auth,
    logger: log,
    idleMinutes: opts.config.sessionIdleMinutes,
    timeZone: opts.config.timeZone,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: opts.config.host,
        port: opts.config.port,
        createServer,
        serverOptions: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' },
      },
      () => resolve(s as Server),
    );
    (s as Server).once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `https://${host}:${addr.port}`;
  log.info({ url }, 'admin UI listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
