// Configuration versions (設定の版管理): every accepted configuration is validated, stored as a new
// version in the appliance LevelDB (sublevel `ui`) and applied; history, line diff, rollback and
// signed backups. The CLI and the admin UI both go through this store.
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { SUBLEVELS, seqKey, type Db } from '../platform/store/db.js';
import type { Signer } from '../hsm/types.js';
import { parseConfigText } from './load.js';
import type { ApplianceConfig } from './schema/index.js';
import type { Actor, ApplyPlan, ApplyResult, ConfigService, ConfigVersion, ConfigVersionSummary, DiffLine } from './versionTypes.js';
import { lineDiff } from './versions-diff.js';
import { applyPlan } from './versions-plan.js';
import { signBackup, verifyBackup } from './versions-backup.js';

const HEAD = 'cfg!head';
/** Digest of the configuration file's text at the last start. */
const FILE_DIGEST = 'cfg!file';
const versionKey = (n: number) => `cfg!v!${seqKey(n, 10)}`;

export interface ConfigVersionsOptions {
  db: Db;
  /**
   * The configuration file's text at start: version 1 in an empty store, the next version when the
   * file changed since the last start; otherwise the stored head stays what runs (see running()).
   */
  initialText: string;
  /** Applies a validated change to the running appliance; throwing refuses the change. */
  applyLive?: (next: ApplianceConfig, plan: ApplyPlan, prev: ApplianceConfig) => Promise<void>;
  /** Written atomically (temp + rename) after each commit, so a restart runs the applied version. */
  activeFile?: string;
  /** Appliance signing key for backups; without it, export/import are not offered. */
  signer?: Signer;
  /** Certificates whose backups may be imported; default: the signer's own. */
  trustedBackupCertificates?: Uint8Array[];
  /** Environment for JUKIGW_… overrides (pass process.env in the appliance; default none). */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

interface Stored extends ConfigVersionSummary {
  text: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');
const summary = (s: Stored): ConfigVersionSummary => ({
  version: s.version,
  createdAt: s.createdAt,
  author: s.author,
  comment: s.comment,
  sha256: s.sha256,
});

export interface ConfigVersions extends ConfigService {
  /** The configuration to run (the head version), parsed: start the components with it. */
  running(): ApplianceConfig;
}

export async function openConfigVersions(opts: ConfigVersionsOptions): Promise<ConfigVersions> {
  const ui = opts.db.sublevel<string, string>(SUBLEVELS.ui, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const now = opts.now ?? Date.now;
  const read = async (n: number): Promise<Stored | undefined> => {
    const raw = await ui.get(versionKey(n));
    return raw === undefined ? undefined : (JSON.parse(raw) as Stored);
  };
  // The same environment overrides as loadConfig (JUKIGW_a__b=…), so running() matches what the CLI loads.
  const parse = (text: string) => parseConfigText(text, opts.env ?? {});

  let headNo = Number((await ui.get(HEAD)) ?? 0);
  const initial = parse(opts.initialText);
  if (!initial.ok)
    throw new Error(`the running configuration is not valid: ${initial.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  // The file is where an administrator edits by hand (often read-only to the service); the store is
  // where UI changes live. An empty store starts from the file; a file edited since the last start
  // becomes the next version (the latest intent wins); an unchanged file leaves the stored head —
  // possibly a UI change — as what runs: start the components with running().
  const fileDigest = digest(opts.initialText);
  const lastFile = await ui.get(FILE_DIGEST);
  const previous = headNo === 0 ? undefined : await read(headNo);
  if (!previous || (lastFile !== fileDigest && previous.text !== opts.initialText)) {
    const n = headNo + 1;
    const comment = previous ? 'configuration file changed outside the UI' : 'configuration at first start';
    const v: Stored = {
      version: n,
      createdAt: new Date(now()).toISOString(),
      author: 'system',
      comment,
      sha256: fileDigest,
      text: opts.initialText,
    };
    await ui.batch().put(versionKey(n), JSON.stringify(v)).put(HEAD, String(n)).put(FILE_DIGEST, fileDigest).write();
    headNo = n;
  } else if (lastFile !== fileDigest) {
    await ui.put(FILE_DIGEST, fileDigest);
  }
  const headStored = (await read(headNo))!;
  const headParsed = parse(headStored.text);
  if (!headParsed.ok)
    throw new Error(
      `stored configuration version ${headNo} no longer validates: ${headParsed.problems[0]?.path}: ${headParsed.problems[0]?.message}`,
    );
  let head: { stored: Stored; config: ApplianceConfig } = { stored: headStored, config: headParsed.config };

  // One change at a time: a second apply waits rather than racing on the head.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f, f);
    queue = p.catch(() => undefined);
    return p;
  };

  const writeActive = async (text: string) => {
    if (!opts.activeFile) return;
    const tmp = `${opts.activeFile}.tmp-${process.pid}`;
    await writeFile(tmp, text, { mode: 0o640 });
    await rename(tmp, opts.activeFile);
  };

  const applyText = (text: string, actor: Actor, comment: string): Promise<ApplyResult> =>
    serial(async () => {
      const r = parse(text);
      if (!r.ok) return { ok: false, problems: r.problems };
      const prev = head;
      const plan = applyPlan(prev.config, r.config);
      if (text === prev.stored.text) return { ok: true, version: summary(prev.stored), plan, unchanged: true };
      if (opts.applyLive) {
        try {
          await opts.applyLive(r.config, plan, prev.config);
        } catch (e) {
          // Put the running appliance back as it was; the version is not stored.
          await opts.applyLive(prev.config, applyPlan(r.config, prev.config), r.config).catch(() => undefined);
          return { ok: false, problems: [{ path: '(apply)', message: `refused by the running appliance: ${(e as Error).message}` }] };
        }
      }
      const stored: Stored = {
        version: prev.stored.version + 1,
        createdAt: new Date(now()).toISOString(),
        author: actor.user,
        comment,
        sha256: digest(text),
        text,
      };
      await ui.batch().put(versionKey(stored.version), JSON.stringify(stored)).put(HEAD, String(stored.version)).write();
      head = { stored, config: r.config };
      await writeActive(text);
      return { ok: true, version: summary(stored), plan };
    });

  const full = (s: Stored): ConfigVersion => {
    const r = parse(s.text);
    return { ...s, config: r.ok ? r.config : head.config };
  };

  const trusted = opts.trustedBackupCertificates ?? (opts.signer ? [opts.signer.certificateDer] : []);

  const store: ConfigVersions = {
    running: () => head.config,
    current: async () => ({ ...head.stored, config: head.config }),
    validate: (text) => parse(text),
    apply: (text, actor, comment = '') => applyText(text, actor, comment),
    versions: async () => {
      const out: ConfigVersionSummary[] = [];
      for await (const v of ui.values({ gte: 'cfg!v!', lt: 'cfg!v!~', reverse: true })) out.push(summary(JSON.parse(v) as Stored));
      return out;
    },
    get: async (n) => {
      const s = await read(n);
      return s && full(s);
    },
    diff: async (from, to): Promise<DiffLine[]> => {
      const [a, b] = await Promise.all([read(from), read(to)]);
      if (!a || !b) throw new Error(`no configuration version ${!a ? from : to}`);
      return lineDiff(a.text, b.text);
    },
    rollback: async (n, actor) => {
      const s = await read(n);
      if (!s) return { ok: false, problems: [{ path: '(version)', message: `no configuration version ${n}` }] };
      return applyText(s.text, actor, `rollback to version ${n}`);
    },
  };
  if (opts.signer) {
    const signer = opts.signer;
    store.exportSignedBackup = async () => signBackup(signer, { ...head.stored, config: head.config });
    store.importSignedBackup = async (document, actor) => {
      const check = verifyBackup(document, trusted);
      if (!check.ok) return { ok: false, problems: [{ path: '(backup)', message: check.message }] };
      return applyText(check.body.text, actor, `import of signed backup (version ${check.body.version} of ${check.body.createdAt})`);
    };
  }
  return store;
}
