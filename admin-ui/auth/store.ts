// Accounts, sessions, lockout and API tokens of the admin UI, in the appliance LevelDB (sublevel
// `ui`). Secrets are stored only as hashes: scrypt for passwords, SHA-256 for random tokens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SUBLEVELS, type Db } from '../../platform/store/db.js';
import { generatePassword, hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { isUiRole, type UiRole } from './roles.js';
import { DEFAULT_LANG, isLang, type Lang } from '../i18n/index.js';

export const MAX_FAILURES = 5;
export const LOCKOUT_MS = 15 * 60_000;
const FIRST_ADMIN = 'admin';

export interface Account {
  name: string;
  role: UiRole;
  hash: string;
  mustChange: boolean;
  failures: number;
  lockedUntil: number;
  disabled: boolean;
  createdAt: string;
  /** Display language of the pages; records from before it existed read as Japanese. */
  language?: Lang;
}
export type PublicAccount = Omit<Account, 'hash'>;
export interface Session {
  user: string;
  role: UiRole;
  csrf: string;
  createdAt: number;
  lastSeen: number;
  mustChange: boolean;
  language: Lang;
}
export interface ApiTokenRecord {
  id: string;
  user: string;
  label: string;
  hash: string;
  createdAt: string;
  lastUsed?: string;
}
export type LoginResult =
  { ok: true; token: string; session: Session } | { ok: false; reason: 'bad-credentials' | 'locked' | 'disabled'; lockedUntil?: number };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const accountName = /^[a-z][a-z0-9._-]{1,31}$/;
/** Failure counts kept for names that are no account, so they lock exactly like accounts do. */
const MAX_UNKNOWN_TRACKED = 10_000;
interface FailureCount {
  failures: number;
  lockedUntil: number;
}

export async function openAuthStore(opts: { db: Db; idleMinutes: number; now?: () => number }) {
  const ui = opts.db.sublevel<string, string>(SUBLEVELS.ui, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const now = opts.now ?? Date.now;
  const idleMs = opts.idleMinutes * 60_000;
  const getJson = async <T>(k: string): Promise<T | undefined> => {
    const v = await ui.get(k);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  };
  const putJson = (k: string, v: unknown) => ui.put(k, JSON.stringify(v));
  const acctKey = (n: string) => `acct!${n}`;
  const sessKey = (token: string) => `sess!${sha256(token)}`;
  // Unknown names still cost one scrypt, so timing does not tell which accounts exist.
  const decoy = await hashPassword(randomBytes(16).toString('hex'));
  // In memory, keyed by a hash of the name, bounded (oldest dropped first): a guessed name costs no disk.
  const unknownNames = new Map<string, FailureCount>();

  /** One failed attempt against `f` (an account or an unknown name); true when it is now locked. */
  const countFailure = (f: FailureCount): boolean => {
    f.failures += 1;
    if (f.failures >= MAX_FAILURES) f.lockedUntil = now() + LOCKOUT_MS;
    return f.lockedUntil > 0;
  };
  const lockExpired = (f: FailureCount) => {
    if (f.lockedUntil !== 0 && f.lockedUntil <= now()) {
      f.failures = 0;
      f.lockedUntil = 0;
    }
  };

  const listAccounts = async (): Promise<PublicAccount[]> => {
    const out: PublicAccount[] = [];
    for await (const v of ui.values({ gte: 'acct!', lt: 'acct!~' })) {
      const { hash: _h, ...a } = JSON.parse(v) as Account;
      out.push(a);
    }
    return out;
  };

  const newSession = async (a: Account): Promise<{ token: string; session: Session }> => {
    const token = randomBytes(32).toString('base64url');
    const session: Session = {
      user: a.name,
      role: a.role,
      csrf: randomBytes(24).toString('base64url'),
      createdAt: now(),
      lastSeen: now(),
      mustChange: a.mustChange,
      language: a.language ?? DEFAULT_LANG,
    };
    await putJson(sessKey(token), session);
    return { token, session };
  };

  return {
    /** Creates `admin` with a one-time password when there is no account yet; returns it (show once). */
    async ensureFirstAdmin(): Promise<string | undefined> {
      if ((await listAccounts()).length > 0) return undefined;
      const password = generatePassword();
      const a: Account = {
        name: FIRST_ADMIN,
        role: 'admin',
        hash: await hashPassword(password),
        mustChange: true,
        failures: 0,
        lockedUntil: 0,
        disabled: false,
        createdAt: new Date(now()).toISOString(),
      };
      await putJson(acctKey(a.name), a);
      return password;
    },

    listAccounts,
    async account(name: string): Promise<PublicAccount | undefined> {
      const a = await getJson<Account>(acctKey(name));
      if (!a) return undefined;
      const { hash: _h, ...pub } = a;
      return pub;
    },

    /**
     * The answer never tells whether the name is an account: an unknown name fails, locks and costs
     * one scrypt exactly like an account with a wrong password; a locked account still costs one.
     */
    async login(name: string, password: string): Promise<LoginResult> {
      const a = accountName.test(name) ? await getJson<Account>(acctKey(name)) : undefined;
      if (!a) {
        await verifyPassword(password, decoy);
        const key = sha256(name);
        const f = unknownNames.get(key) ?? { failures: 0, lockedUntil: 0 };
        unknownNames.delete(key);
        if (unknownNames.size >= MAX_UNKNOWN_TRACKED) unknownNames.delete(unknownNames.keys().next().value!);
        unknownNames.set(key, f);
        lockExpired(f);
        if (f.lockedUntil > now() || countFailure(f)) return { ok: false, reason: 'locked', lockedUntil: f.lockedUntil };
        return { ok: false, reason: 'bad-credentials' };
      }
      lockExpired(a);
      if (a.lockedUntil > now()) {
        await verifyPassword(password, decoy);
        return { ok: false, reason: 'locked', lockedUntil: a.lockedUntil };
      }
      const good = await verifyPassword(password, a.hash);
      if (!good) {
        const locked = countFailure(a);
        await putJson(acctKey(a.name), a);
        return locked ? { ok: false, reason: 'locked', lockedUntil: a.lockedUntil } : { ok: false, reason: 'bad-credentials' };
      }
      if (a.disabled) return { ok: false, reason: 'disabled' };
      if (a.failures !== 0 || a.lockedUntil !== 0) {
        a.failures = 0;
        a.lockedUntil = 0;
        await putJson(acctKey(a.name), a);
      }
      return { ok: true, ...(await newSession(a)) };
    },

    /** The session for a cookie token; idle sessions expire, and so do sessions of disabled accounts. */
    async session(token: string | undefined): Promise<Session | undefined> {
      if (!token || token.length > 100) return undefined;
      const s = await getJson<Session>(sessKey(token));
      if (!s) return undefined;
      const a = await getJson<Account>(acctKey(s.user));
      if (now() - s.lastSeen > idleMs || !a || a.disabled) {
        await ui.del(sessKey(token));
        return undefined;
      }
      s.lastSeen = now();
      s.role = a.role;
      s.mustChange = a.mustChange;
      s.language = a.language ?? DEFAULT_LANG;
      await putJson(sessKey(token), s);
      return s;
    },

    async logout(token: string): Promise<void> {
      await ui.del(sessKey(token));
    },

    /** Returns a problem message, or undefined on success; the user's other sessions end (`keepToken` stays). */
    async changePassword(name: string, current: string, next: string, keepToken?: string): Promise<string | undefined> {
      const a = await getJson<Account>(acctKey(name));
      if (!a || !(await verifyPassword(current, a.hash))) return 'current password is wrong';
      const problem = passwordProblem(next, name);
      if (problem) return `new password: ${problem}`;
      if (await verifyPassword(next, a.hash)) return 'new password: must differ from the current one';
      a.hash = await hashPassword(next);
      a.mustChange = false;
      await putJson(acctKey(name), a);
      const keep = keepToken ? sessKey(keepToken) : undefined;
      for await (const [k, v] of ui.iterator({ gte: 'sess!', lt: 'sess!~' })) {
        if (k !== keep && (JSON.parse(v) as Session).user === name) await ui.del(k);
      }
      return undefined;
    },

    async createAccount(name: string, role: string, password: string, language: Lang = DEFAULT_LANG): Promise<string | undefined> {
      if (!accountName.test(name)) return 'name: 2-32 characters a-z 0-9 . _ - starting with a letter';
      if (!isUiRole(role)) return 'role: unknown role';
      if (await getJson<Account>(acctKey(name))) return `name: account "${name}" exists`;
      const problem = passwordProblem(password, name);
      if (problem) return `password: ${problem}`;
      if (!isLang(language)) return 'language: unknown language';
      const a: Account = {
        name,
        role,
        hash: await hashPassword(password),
        mustChange: true,
        failures: 0,
        lockedUntil: 0,
        disabled: false,
        createdAt: new Date(now()).toISOString(),
        language,
      };
      await putJson(acctKey(name), a);
      return undefined;
    },

    /** The account's display language; false when there is no such account. */
    async setLanguage(name: string, language: Lang): Promise<boolean> {
      const a = await getJson<Account>(acctKey(name));
      if (!a) return false;
      a.language = language;
      await putJson(acctKey(name), a);
      return true;
    },

    async setDisabled(name: string, disabled: boolean): Promise<boolean> {
      const a = await getJson<Account>(acctKey(name));
      if (!a) return false;
      a.disabled = disabled;
      await putJson(acctKey(name), a);
      return true;
    },

    async unlock(name: string): Promise<boolean> {
      const a = await getJson<Account>(acctKey(name));
      if (!a) return false;
      a.failures = 0;
      a.lockedUntil = 0;
      await putJson(acctKey(name), a);
      return true;
    },

    /** Returns the token once (`jgw_<id>.<secret>`); only its hash is kept. */
    async createApiToken(user: string, label: string): Promise<{ id: string; token: string }> {
      const id = randomBytes(6).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      const rec: ApiTokenRecord = { id, user, label: label.slice(0, 64), hash: sha256(secret), createdAt: new Date(now()).toISOString() };
      await putJson(`tok!${id}`, rec);
      return { id, token: `jgw_${id}.${secret}` };
    },

    async apiToken(token: string | undefined): Promise<{ user: string; role: UiRole; id: string } | undefined> {
      const m = /^jgw_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
      if (!m) return undefined;
      const rec = await getJson<ApiTokenRecord>(`tok!${m[1]}`);
      if (!rec || !timingSafeEqual(Buffer.from(rec.hash, 'hex'), Buffer.from(sha256(m[2]!), 'hex'))) return undefined;
      const a = await getJson<Account>(acctKey(rec.user));
      if (!a || a.disabled) return undefined;
      rec.lastUsed = new Date(now()).toISOString();
      await putJson(`tok!${rec.id}`, rec);
      return { user: a.name, role: a.role, id: rec.id };
    },

    async listApiTokens(): Promise<Omit<ApiTokenRecord, 'hash'>[]> {
      const out: Omit<ApiTokenRecord, 'hash'>[] = [];
      for await (const v of ui.values({ gte: 'tok!', lt: 'tok!~' })) {
        const { hash: _h, ...t } = JSON.parse(v) as ApiTokenRecord;
        out.push(t);
      }
      return out;
    },

    async revokeApiToken(id: string): Promise<void> {
      await ui.del(`tok!${id}`);
    },
  };
}
export type AuthStore = Awaited<ReturnType<typeof openAuthStore>>;
