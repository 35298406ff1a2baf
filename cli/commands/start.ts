import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprint } from '../../admin-ui/tls.js';
import { formatProblems, loadConfig } from '../../config/load.js';
import { createLogger } from '../../platform/log/logger.js';
import { startAppliance, type ComponentName } from '../../appliance/start.js';
import { parseCommandArgs } from '../args.js';
import { ensureDevPasswords } from '../../config/devPasswords.js';
import { startSummary } from '../startSummary.js';

export const summary =
  'start [--config FILE] [--summary]: run the appliance (embedded default without a file; --summary: the ready summary also without a terminal)';

export const USAGE = `juki-gw start [--config FILE] [--summary]
  Logs JSON lines on stdout (for the journal). On a terminal, or with --summary, it also prints a
  short summary once ready: admin UI URL, the first-run admin password (shown only at the first
  start), development passwords, listeners, and whether upstreams are simulated.`;

/** The reason in words; LevelDB's own "Database failed to open" does not say that another process holds it. */
export function startFailure(e: unknown, dataDir: string): string {
  const err = e as { message?: string; code?: string; cause?: { code?: string } };
  if (err.cause?.code === 'LEVEL_LOCKED' || err.code === 'LEVEL_LOCKED') {
    return `the data directory ${dataDir} is in use by another running appliance (its database is locked); stop it first, or give this one another dataDir`;
  }
  return err.message ?? String(e);
}

/** Runs until SIGTERM/SIGINT, then closes every component (listeners first, DB flushed last). */
export async function serve(file: string | undefined, what: string, only?: readonly ComponentName[], withSummary = false): Promise<number> {
  const r = loadConfig(file);
  if (!r.ok) {
    process.stderr.write(formatProblems(r.problems) + '\n');
    return 1;
  }
  const logger = createLogger({ level: r.config.log.level });
  const created = ensureDevPasswords(r.config);
  if (created.length)
    logger.warn({ files: created }, 'generated development passwords for the loopback listener (read them from these files)');
  // With the summary, the first-run admin password is shown in it (once) instead of on stderr.
  let firstAdminPassword: string | undefined;
  const printOnce = withSummary
    ? (text: string) => {
        firstAdminPassword = /one-time password: (\S+)/.exec(text)?.[1];
        if (!firstAdminPassword) process.stderr.write(text); // never lose it to a changed wording
      }
    : undefined;
  let app;
  try {
    app = await startAppliance(r.config, {
      logger,
      ...(only ? { only } : {}),
      ...(file ? { configText: readFileSync(file, 'utf8') } : {}),
      ...(printOnce ? { printOnce } : {}),
    });
  } catch (e) {
    const message = startFailure(e, r.config.dataDir);
    logger.error({ err: message }, `${what} failed to start`);
    process.stderr.write(`juki-gw ${what}: ${message}\n`);
    return 1;
  }
  const { broker, admin } = app.parts;
  const addresses = Object.fromEntries(r.config.listeners.map((l) => [l.name, broker!.address(l.name)]));
  logger.info({ listeners: addresses, admin: admin?.address(), mode: r.config.broker.mode }, `${what} ready`);
  if (withSummary) {
    const uiUrl = app.parts.uiUrl;
    // The browser shows this fingerprint for the self-signed certificate: compare it there.
    const selfSigned = join(r.config.dataDir, 'ui-tls', 'ui.pem');
    const uiFingerprint = uiUrl && !r.config.ui.tls && existsSync(selfSigned) ? fingerprint(readFileSync(selfSigned, 'utf8')) : undefined;
    process.stdout.write(
      startSummary({
        config: r.config,
        listeners: addresses,
        simulatedUpstreams: app.parts.simulated !== undefined,
        ...(uiUrl ? { uiUrl } : {}),
        ...(uiFingerprint ? { uiFingerprint } : {}),
        ...(firstAdminPassword ? { firstAdminPassword } : {}),
        ...(admin ? { admin: admin.address() } : {}),
      }),
    );
  }
  process.on('SIGHUP', () => {
    broker?.reloadTls();
    logger.info('TLS material and CRL reloaded');
  });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    // Cluster mode: a node that stops leading ends (fail-stop; its writes are already refused and its
    // store is crash-safe); systemd starts it again, as standby. The close lets answers in flight (the
    // switchover's own reply) go out and clients disconnect; at most 5 s, then the exit regardless.
    void app.ended?.then(async (why) => {
      logger.fatal({ why }, `${what}: no longer the active node of the cluster; exiting to restart as standby`);
      setTimeout(() => process.exit(3), 5000).unref();
      await app.close().catch((e: Error) => logger.warn({ err: e.message }, `${what}: close after the loss of leadership`));
      process.exit(3);
    });
  });
  logger.info({ signal }, `${what} stopping`);
  // A second signal, or a close that hangs, must still end the process (the DB is crash-safe).
  const force = () => {
    logger.error(`${what}: forced exit before a clean stop`);
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  const deadline = setTimeout(force, 30_000);
  deadline.unref();
  await app.close();
  clearTimeout(deadline);
  logger.info(`${what} stopped`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { config: { type: 'string', short: 'c' }, summary: { type: 'boolean' } }, USAGE);
  if (!parsed) return 2;
  if (parsed.positionals.length) {
    process.stderr.write(`usage: ${USAGE}\n`);
    return 2;
  }
  return serve(parsed.values.config, 'appliance', undefined, parsed.values.summary === true || process.stdout.isTTY === true);
}
