// juki-gw queue: inspect and repair the upstream outbox and its dead-letter queue on the data dir.
// LevelDB admits one process: while the appliance runs it holds the lock, and every subcommand goes
// through its admin API (same functions, on the live outbox; same roles and audit as the UI).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commandConfig, dataDirLine } from '../commandConfig.js';
import type { Db } from '../../platform/store/db.js';
import { openOfflineStore } from '../offlineStore.js';
import { Outbox, type OutboxOptions, type OutboxSummary } from '../../gateway/uplink/outbox.js';
import { backoffDelay } from '../../gateway/uplink/backoff.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { parseCommandArgs } from '../args.js';
import { ONLINE_OPTIONS, onlineUsage, refusal, runningAppliance, type OnlineFlags } from '../online.js';

export const summary = 'queue list|show|retry|purge [SEQ|all] [--dead]: the upstream outbox and dead-letter queue';

export const USAGE = `juki-gw queue list [--dead] [--limit N] | show SEQ [--dead] [--with-body] | retry SEQ|all [--dead] | purge SEQ|all [--dead] [--yes]  [--config FILE]
${onlineUsage('list, show, retry and purge go')}`;

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      config: { type: 'string' },
      dead: { type: 'boolean' },
      limit: { type: 'string' },
      'with-body': { type: 'boolean' },
      yes: { type: 'boolean' },
      ...ONLINE_OPTIONS,
    },
    USAGE,
  );
  if (!parsed) return 2;
  const [sub, target] = parsed.positionals;
  if (!sub || !['list', 'show', 'retry', 'purge'].includes(sub)) {
    err(`usage: ${USAGE}`);
    return 2;
  }
  const seq = target === undefined || target === 'all' ? target : Number(target);
  if (sub !== 'list' && (seq === undefined || (seq !== 'all' && (!Number.isSafeInteger(seq) || seq < 1)))) {
    err(`juki-gw queue ${sub}: give a sequence number (from "juki-gw queue list")${sub === 'show' ? '' : ' or "all"'}`);
    return 2;
  }
  if (sub === 'show' && seq === 'all') {
    err('juki-gw queue show: give one sequence number');
    return 2;
  }
  if (sub === 'purge' && seq === 'all' && !parsed.values.yes) {
    err(`juki-gw queue purge all${parsed.values.dead ? ' --dead' : ''}: this deletes messages for good; add --yes to confirm`);
    return 2;
  }
  const limit = Number(parsed.values.limit ?? 100);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) {
    err(`juki-gw queue: --limit: expected an integer 1..100000, got "${parsed.values.limit}"`);
    return 2;
  }
  const r = commandConfig(parsed.values.config);
  if (!r.ok) {
    err(r.message);
    return 1;
  }
  const config = r.config;
  process.stderr.write(dataDirLine(`queue ${sub}`, config.dataDir, r.source));
  const dbPath = join(config.dataDir, 'db');
  if (!existsSync(dbPath)) {
    err(`juki-gw queue: no appliance database in ${config.dataDir} (nothing was ever queued there)`);
    return 1;
  }
  let db: Db;
  try {
    db = await openOfflineStore(dbPath, `queue ${sub}`);
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
      const dead = parsed.values.dead === true;
      if (sub === 'retry' || sub === 'purge') return queueOnline(sub, seq as number | 'all', dead, config, parsed.values);
      return readOnline(
        sub as 'list' | 'show',
        { seq: seq as number, dead, limit, withBody: parsed.values['with-body'] === true },
        config,
        parsed.values,
      );
    }
    err(`juki-gw queue: cannot open ${dbPath}: ${(e as Error).message}`);
    return 1;
  }
  let closeAtRest: (() => Promise<void>) | undefined;
  try {
    // Queued messages are sealed with the data key when encryption at rest is on; open it the same way.
    let valueEncoding: OutboxOptions['valueEncoding'];
    try {
      const { openEncryptionAtRest } = await import('../../gateway/crypto/index.js');
      const atRest = await openEncryptionAtRest({ hsm: config.hsm, dataDir: config.dataDir, db });
      valueEncoding = atRest.keyring.valueEncoding('json') as OutboxOptions['valueEncoding'];
      closeAtRest = () => atRest.close();
    } catch (e) {
      err(`juki-gw queue: cannot open the data key (${(e as Error).message}); reading the queue without it`);
    }
    const retry = config.uplink.retry;
    const outbox = new Outbox({
      db,
      retry,
      backoff: (n) => backoffDelay(retry, n),
      valueEncoding,
      route: () => {
        throw new Error('the CLI does not enqueue');
      },
    });
    await outbox.open({ live: false });
    const dead = parsed.values.dead === true;
    switch (sub) {
      case 'list':
        return printList(outbox.stats(), await outbox.list({ dead, limit }), dead);
      case 'show': {
        const e = await outbox.show(seq as number, { dead });
        if (!e) return noSuch(seq as number, dead);
        // The body carries personal data: shown only on request.
        const shown = parsed.values['with-body'] ? e : { ...e, envelope: { ...e.envelope, body: '[hidden: --with-body shows it]' } };
        out(JSON.stringify(shown, null, 2));
        return 0;
      }
      case 'retry': {
        const seqs = seq === 'all' ? (await outbox.list({ dead, limit: Number.MAX_SAFE_INTEGER })).map((s) => s.seq) : [seq as number];
        let n = 0;
        for (const s of seqs) if (await outbox.retry(s, { dead })) n++;
        if (seq !== 'all' && n === 0) {
          err(`no ${dead ? 'dead-lettered' : 'queued'} message with seq ${String(seq)}`);
          return 1;
        }
        out(dead ? `${n} message(s) moved from the dead-letter queue back into the outbox` : `${n} message(s) due for sending now`);
        return 0;
      }
      case 'purge': {
        const n = await outbox.purge(seq as number | 'all', { dead });
        if (seq !== 'all' && n === 0) {
          err(`no ${dead ? 'dead-lettered' : 'queued'} message with seq ${String(seq)}`);
          return 1;
        }
        out(`${n} ${dead ? 'dead-lettered' : 'queued'} message(s) deleted; they will never be sent`);
        return 0;
      }
    }
    return 2;
  } finally {
    await closeAtRest?.().catch(() => undefined);
    await db.close();
  }
}

const noSuch = (seq: number, dead: boolean) => {
  err(`no ${dead ? 'dead-lettered' : 'queued'} message with seq ${seq}${dead ? '' : ' (try --dead)'}`);
  return 1;
};

function printList(stats: ReturnType<Outbox['stats']>, rows: OutboxSummary[], dead: boolean): number {
  const now = Date.now();
  for (const [link, s] of Object.entries(stats)) {
    out(`link ${link}: ${s.depth} queued, oldest ${Math.round(s.oldestAgeMs / 1000)} s, ${s.dead} dead-lettered`);
  }
  if (rows.length === 0) {
    out(dead ? 'the dead-letter queue is empty' : 'the outbox is empty');
    return 0;
  }
  out(['seq', 'link', 'type', 'to', 'id', 'attempts', 'age', dead ? 'reason' : 'last error'].join('\t'));
  for (const r of rows) out(row(r, now, dead));
  return 0;
}

function row(r: OutboxSummary, now: number, dead: boolean): string {
  const age = `${Math.round((now - r.enqueuedAt) / 1000)}s`;
  return [r.seq, r.link, r.type, r.to, r.id, r.attempts, age, (dead ? r.reason : r.lastError) ?? ''].join('\t');
}

/** list / show through the running appliance's admin API, printed as offline. */
async function readOnline(
  sub: 'list' | 'show',
  q: { seq: number; dead: boolean; limit: number; withBody: boolean },
  config: ApplianceConfig,
  v: OnlineFlags,
): Promise<number> {
  const online = runningAppliance(config, v);
  if ('error' in online) {
    err(`juki-gw queue ${sub}: ${online.error}`);
    return 1;
  }
  try {
    const r =
      sub === 'list'
        ? await online.api.call('GET', `/outbox?dead=${q.dead}&limit=${q.limit}`)
        : await online.api.call('GET', `/outbox/${q.seq}?dead=${q.dead}${q.withBody ? '&withBody=true' : ''}`);
    if (sub === 'show' && r.status === 404 && r.json.message === `no ${q.dead ? 'dead-lettered' : 'queued'} message with seq ${q.seq}`)
      return noSuch(q.seq, q.dead);
    if (r.status !== 200) {
      err(
        `juki-gw queue ${sub}: ${refusal(r.status, r.json, q.withBody ? "a message body needs an admin account's token" : 'the token may not view the queues')}`,
      );
      return 1;
    }
    if (sub === 'list') return printList(r.json.stats as ReturnType<Outbox['stats']>, r.json.entries as OutboxSummary[], q.dead);
    out(JSON.stringify(r.json, null, 2));
    return 0;
  } catch (e) {
    err(`juki-gw queue ${sub}: ${(e as Error).message}`);
    return 1;
  }
}

/** retry / purge through the running appliance's admin API, on its live outbox. */
async function queueOnline(
  sub: 'retry' | 'purge',
  seq: number | 'all',
  dead: boolean,
  config: ApplianceConfig,
  v: OnlineFlags,
): Promise<number> {
  const online = runningAppliance(config, v);
  if ('error' in online) {
    err(`juki-gw queue ${sub}: ${online.error}`);
    return 1;
  }
  try {
    const r = await online.api.call('POST', `/outbox/${sub}`, {
      seq,
      dead,
      ...(sub === 'purge' && seq === 'all' ? { confirm: true } : {}),
    });
    if (r.status !== 200) {
      err(`juki-gw queue ${sub}: ${refusal(r.status, r.json, "retry and purge need an admin account's token")}`);
      return 1;
    }
    const n = Number(r.json.count);
    if (seq !== 'all' && n === 0) {
      err(`no ${dead ? 'dead-lettered' : 'queued'} message with seq ${String(seq)}`);
      return 1;
    }
    if (sub === 'retry')
      out(dead ? `${n} message(s) moved from the dead-letter queue back into the outbox` : `${n} message(s) due for sending now`);
    else out(`${n} ${dead ? 'dead-lettered' : 'queued'} message(s) deleted; they will never be sent`);
    out(`(done by the running appliance at ${online.api.url})`);
    return 0;
  } catch (e) {
    err(`juki-gw queue ${sub}: ${(e as Error).message}`);
    return 1;
  }
}
