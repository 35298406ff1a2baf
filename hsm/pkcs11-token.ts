// PKCS#11 signing token: a pool of logged-in sessions for parallel C_Sign, and the fault handling
// the appliance relies on — a lost token or session pauses signing (callers get
// TokenUnavailableError and keep the message queued), an alarm is logged, and a background loop
// with backoff logs in again; a refused PIN is never retried.
import * as nodeCrypto from 'node:crypto';
import { TokenConfigError, TokenUnavailableError, WrongPinError } from './errors.js';
import { findKey, generateKey, keyTypeFor, type FoundKey, type KeyRef } from './pkcs11-key.js';
import {
  acquireModule,
  findSlot,
  reinitializeModule,
  LOST_CODES,
  pkcs11js,
  releaseModule,
  rvName,
  rvOf,
  slotNumber,
  type Handle,
  type Pkcs11,
} from './pkcs11-module.js';
import { faultError, isFault, RING_SLOTS, SIGN_THREADS, startSignThreads, type SignOutcome, type SignThreads } from './sign-worker.js';
import { silentLogger, type HsmLogger } from './signer.js';
import type { TokenKey } from './token.js';
import type { JwsAlg, TokenFacts, TokenPlace, TokenStatus } from './types.js';

export interface Pkcs11TokenOptions {
  module: string;
  tokenLabel?: string | undefined;
  slot?: number | undefined;
  /** Already read from its file or environment variable; kept in memory only for re-login. */
  pin: string;
  key: KeyRef;
  alg: JwsAlg;
  sessions: number;
  /** Generate the key on the token when it does not exist (data-dir SoftHSM, `keys generate`). */
  generateIfMissing?: boolean;
  rsaBits?: 2048 | 3072;
  logger?: HsmLogger;
  reconnect?: { initialMs?: number; maxMs?: number };
  /**
   * One signing thread per session runs C_SignInit + C_Sign for ES256 (default true): C_SignInit
   * is synchronous only and, on the main thread, limits the rate with several sessions. false, an
   * RSA key (its C_Sign takes the whole message and the device time dominates), or a thread that
   * fails to start or dies: signs on the main thread, C_Sign on libuv's pool.
   */
  signingThreads?: boolean;
}

export interface Pkcs11TokenKey extends TokenKey {
  readonly slot: number;
  /** Runs `fn` with a logged-in session of the pool (keys list). */
  withSession<T>(fn: (lib: Pkcs11, session: Handle) => T): Promise<T>;
  /** Signing threads running (0: every signature is made on the main thread). */
  readonly signingThreads: number;
  readonly [SIGN_THREADS]?: SignThreads | undefined;
}

type State = 'ready' | 'lost' | 'pin-refused' | 'closed';

/** A signature waiting for, or running on, a session. */
interface SignJob {
  input: Buffer;
  finish: (signature: Buffer) => unknown;
  resolve: (value: unknown) => void;
  fail: (e: unknown) => void;
}
/** withSession waiting for a session. */
interface SessionWaiter {
  take: (s: PoolSession) => void;
  fail: (e: unknown) => void;
}
type Waiter = SignJob | SessionWaiter;

/** A logged-in session of the pool; `live` turns false when a reconnect replaces the pool. */
interface PoolSession {
  handle: Handle;
  index: number;
  live: boolean;
  job: SignJob | undefined;
  out: number;
  done: (err: Error | null, sig: Buffer) => void;
}
/** What signing thread `i` holds, in posting order (a session of an older pool may still be among them). */
interface ThreadWork {
  sessions: PoolSession[];
  jobs: SignJob[];
}

// Signatures out per session's thread: enough that it never waits for the main thread to hand it
// the next one; the least loaded thread takes each new signature.
const DEPTH = Math.min(16, RING_SLOTS);
// Each thread is a V8 isolate (≈ 10 MB): sessions beyond this many sign on the main thread, with
// C_Sign on libuv's pool, as with signingThreads: false.
export const MAX_SIGNING_THREADS = 16;

const returnSignature = (signature: Buffer) => signature;

const PSS = {
  mechanism: pkcs11js.CKM_SHA256_RSA_PKCS_PSS,
  parameter: { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, saltLen: 32 },
};

function login(lib: Pkcs11, session: Handle, pin: string): void {
  try {
    lib.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (e) {
    const rv = rvOf(e);
    if (rv === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return;
    if (
      rv === pkcs11js.CKR_PIN_INCORRECT ||
      rv === pkcs11js.CKR_PIN_LOCKED ||
      rv === pkcs11js.CKR_PIN_INVALID ||
      rv === pkcs11js.CKR_PIN_LEN_RANGE
    ) {
      throw new WrongPinError(`the token refused the user PIN (${rvName(e)}); not retried, to spare the token's retry counter`);
    }
    throw e;
  }
}

// One-shot crypto.hash (Node ≥ 20.12) skips a Hash object per signature.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Buffer | string, enc: 'buffer') => Buffer }).hash;
const sha256 = (data: Buffer | string): Buffer =>
  oneShot ? oneShot('sha256', data, 'buffer') : nodeCrypto.createHash('sha256').update(data).digest();

export function openPkcs11Token(opts: Pkcs11TokenOptions): Pkcs11TokenKey {
  const logger = opts.logger ?? silentLogger;
  const lib = acquireModule(opts.module);
  const where = opts.tokenLabel !== undefined ? `token "${opts.tokenLabel}"` : `slot ${opts.slot}`;
  const mechanism =
    opts.alg === 'ES256' ? { mechanism: pkcs11js.CKM_ECDSA } : opts.alg === 'PS256' ? PSS : { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS };

  let slot: Handle;
  let key: FoundKey;
  let sessions: Handle[] = [];
  const openSessions = (s: Handle, n: number) => {
    const out: Handle[] = [];
    try {
      for (let i = 0; i < n; i++) out.push(lib.C_OpenSession(s, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    } catch (e) {
      closeEach(out);
      throw e;
    }
    return out;
  };
  const closeEach = (list: Handle[]) => {
    for (const h of list) {
      try {
        lib.C_CloseSession(h);
      } catch {
        /* gone already */
      }
    }
  };

  try {
    const found = findSlot(lib, opts);
    if (!found) throw new TokenConfigError(`PKCS#11 ${where} not found in ${opts.module}`);
    slot = found;
    sessions = openSessions(slot, opts.sessions);
    login(lib, sessions[0]!, opts.pin);
    let k = findKey(lib, sessions[0]!, opts.key);
    if (!k && opts.generateIfMissing) {
      k = generateKey(lib, sessions[0]!, opts.key, opts.alg, opts.rsaBits);
      logger.info({ hsm: 'pkcs11', keyLabel: opts.key.label, alg: opts.alg }, 'generated a signing key on the token');
    }
    if (!k) throw new TokenConfigError(`no private key labelled "${opts.key.label}" on ${where} (juki-gw keys generate)`);
    if (k.type !== keyTypeFor(opts.alg))
      throw new TokenConfigError(`key "${opts.key.label}" is ${k.type}, but ${opts.alg} needs ${keyTypeFor(opts.alg)}`);
    key = k;
  } catch (e) {
    closeEach(sessions);
    releaseModule(opts.module);
    throw e;
  }

  let state: State = 'ready';
  let lostReason = '';
  let lostSince = 0;
  let pool = sessions.map(pooled);
  let threads: SignThreads | undefined;
  const work: (ThreadWork | undefined)[] = [];
  let free = [...pool];
  const waiters: Waiter[] = [];
  let timer: NodeJS.Timeout | undefined;
  let backoff = opts.reconnect?.initialMs ?? 250;
  let attempts = 0;
  const maxBackoff = opts.reconnect?.maxMs ?? 10_000;
  const spki = key.spkiDer;
  // r||s for P-256; the modulus length for RSA (the SPKI is a little longer than the modulus).
  const sigBytes = key.type === 'EC' ? 64 : Math.ceil(spki.length / 128) * 128;

  const unavailable = () =>
    new TokenUnavailableError(
      state === 'pin-refused'
        ? `PKCS#11 ${where}: PIN refused at re-login; signing stopped until restart with the right PIN`
        : state === 'closed'
          ? `PKCS#11 ${where} is closed`
          : `PKCS#11 ${where} unavailable (${lostReason}); signing paused, retrying`,
    );

  // The C_Sign callback is made once per session, not once per signature.
  function pooled(handle: Handle, index: number): PoolSession {
    const s: PoolSession = { handle, index, live: true, job: undefined, out: 0, done: (err, sig) => signed(s, err, sig) };
    return s;
  }

  /** Gives a free session to the next waiter: a queued signature starts on it at once, without a promise hop. */
  const hand = (s: PoolSession) => {
    const w = waiters.shift();
    if (!w) free.push(s);
    else if ('input' in w) start(s, w);
    else w.take(s);
  };
  const release = (s: PoolSession) => {
    if (state === 'ready' && s.live) hand(s);
  };

  const start = (s: PoolSession, job: SignJob) => {
    if (post(s, job)) {
      topUp(s);
      return;
    }
    s.job = job;
    try {
      lib.C_SignInit(s.handle, mechanism, key.privateKey);
      lib.C_Sign(s.handle, job.input, Buffer.allocUnsafe(sigBytes), s.done);
    } catch (e) {
      s.job = undefined;
      // Released on a later tick: a fault repeating for every queued job must not recurse through the queue.
      failed(s, job, e, () => queueMicrotask(() => release(s)));
    }
  };

  /** Hands the job to the session's signing thread; false if the thread cannot take it. */
  function post(s: PoolSession, job: SignJob): boolean {
    const w = work[s.index];
    if (!w || !threads) return false;
    w.sessions.push(s);
    w.jobs.push(job);
    s.out++;
    if (threads.post(s.index, s.handle, key.privateKey, job.input)) return true;
    w.sessions.pop();
    w.jobs.pop();
    s.out--;
    return false;
  }

  /** Queued signatures follow onto the session's thread, up to DEPTH, before the thread runs dry. */
  function topUp(s: PoolSession) {
    while (s.out < DEPTH && state === 'ready' && s.live && waiters.length > 0 && 'input' in waiters[0]!) {
      if (!post(s, waiters[0])) break;
      waiters.shift();
    }
  }

  /**
   * A session already signing in its thread with room for more, the least loaded. A session with
   * nothing out and not free is held by withSession: never shared with a thread.
   */
  function signingSession(): PoolSession | undefined {
    let best: PoolSession | undefined;
    for (const s of pool) {
      if (!work[s.index] || !s.live || s.out === 0 || s.out >= DEPTH) continue;
      if (!best || s.out < best.out) best = s;
    }
    return best;
  }

  function threadSigned(i: number, o: SignOutcome) {
    const w = work[i];
    const s = w?.sessions.shift(),
      job = w?.jobs.shift();
    if (!s || !job) return;
    s.out--;
    const e = isFault(o) ? faultError(o) : undefined;
    const lostCode = e !== undefined && LOST_CODES.has(rvOf(e) ?? -1);
    // A session from before a reconnect failing late says nothing about the new sessions.
    if (lostCode && s.live) markLost(rvName(e));
    // The next queued signature goes to the token before this one's JWS is built.
    topUp(s);
    if (s.out === 0) release(s);
    if (e) {
      job.fail(
        lostCode
          ? new TokenUnavailableError(`PKCS#11 ${where}: ${rvName(e)}; signing paused`, { cause: e })
          : state !== 'ready'
            ? unavailable()
            : e,
      );
      return;
    }
    let out: unknown;
    try {
      out = job.finish(o as Buffer);
    } catch (err) {
      job.fail(err);
      return;
    }
    job.resolve(out);
  }

  /** The session's thread is gone: what it held is signed again on the main thread, nothing is lost. */
  function threadDown(i: number, reason: string) {
    const w = work[i];
    if (!w) return;
    work[i] = undefined;
    logger.warn({ hsm: 'pkcs11', token: where, reason }, 'signing thread unavailable; this session signs on the main thread');
    const held = new Set(w.sessions);
    // A thread stopped between C_SignInit and C_Sign leaves the operation active on its session:
    // a C_Sign ends it (or answers that none is active), so the main thread can sign there.
    for (const s of held) {
      s.out = 0;
      try {
        lib.C_Sign(s.handle, Buffer.alloc(32), Buffer.alloc(sigBytes));
      } catch {
        /* no operation was active */
      }
    }
    if (state !== 'ready') {
      for (const j of w.jobs) j.fail(unavailable());
      return;
    }
    waiters.unshift(...w.jobs);
    for (const s of held) release(s);
  }

  if (opts.signingThreads !== false && opts.alg === 'ES256') {
    const count = Math.min(opts.sessions, MAX_SIGNING_THREADS);
    for (let i = 0; i < count; i++) work[i] = { sessions: [], jobs: [] };
    threads = startSignThreads({ module: opts.module, mechanism, sigBytes, count, onResult: threadSigned, onDown: threadDown });
  }

  function signed(s: PoolSession, err: Error | null, sig: Buffer) {
    const job = s.job!;
    s.job = undefined;
    if (err) {
      failed(s, job, err, () => release(s));
      return;
    }
    // The next queued signature goes to the token before this one's JWS is built.
    release(s);
    let out: unknown;
    try {
      out = job.finish(sig);
    } catch (e) {
      job.fail(e);
      return;
    }
    job.resolve(out);
  }

  function failed(s: PoolSession, job: SignJob, e: unknown, releaseSession: () => void) {
    const rv = rvOf(e);
    if (rv !== undefined && LOST_CODES.has(rv)) {
      // A session from before a reconnect failing late says nothing about the new sessions.
      if (s.live) markLost(rvName(e));
      job.fail(new TokenUnavailableError(`PKCS#11 ${where}: ${rvName(e)}; signing paused`, { cause: e }));
      return;
    }
    releaseSession();
    job.fail(state !== 'ready' ? unavailable() : e);
  }

  const acquire = (): Promise<PoolSession> => {
    if (state !== 'ready') return Promise.reject(unavailable());
    const s = free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((take, fail) => waiters.push({ take, fail }));
  };

  const markLost = (reason: string) => {
    if (state !== 'ready') return;
    state = 'lost';
    lostReason = reason;
    lostSince = Date.now();
    free = [];
    for (const w of waiters.splice(0)) w.fail(unavailable());
    logger.error(
      { alarm: 'hsm_token_lost', hsm: 'pkcs11', token: where, reason },
      'ALARM: signing token lost; signing paused, messages stay queued',
    );
    backoff = opts.reconnect?.initialMs ?? 250;
    attempts = 0;
    schedule();
  };

  const schedule = () => {
    if (state !== 'lost') return;
    timer = setTimeout(reconnect, backoff);
    timer.unref();
    backoff = Math.min(backoff * 2, maxBackoff);
  };

  const retire = () => {
    for (const s of pool) s.live = false;
    closeEach(sessions);
    sessions = [];
    pool = [];
  };

  function reconnect() {
    timer = undefined;
    if (state !== 'lost') return;
    retire();
    let fresh: Handle[] = [];
    try {
      // A plain re-login failed once: start from a fresh library state (token re-plugged, files restored).
      if (attempts++ > 0) reinitializeModule(opts.module);
      const s = findSlot(lib, opts);
      if (!s) throw new Error('token not present');
      fresh = openSessions(s, opts.sessions);
      login(lib, fresh[0]!, opts.pin);
      const k = findKey(lib, fresh[0]!, opts.key);
      if (!k) throw new Error(`key "${opts.key.label}" not found`);
      if (!k.spkiDer.equals(spki)) throw new Error(`key "${opts.key.label}" is not the key we started with`);
      slot = s;
      key = k;
      sessions = fresh;
      pool = fresh.map(pooled);
      free = [...pool];
      state = 'ready';
      logger.info({ hsm: 'pkcs11', token: where, downMs: Date.now() - lostSince }, 'signing token available again; signing resumed');
    } catch (e) {
      closeEach(fresh);
      if (e instanceof WrongPinError) {
        state = 'pin-refused';
        logger.error({ alarm: 'hsm_pin_refused', hsm: 'pkcs11', token: where }, `ALARM: ${e.message}`);
        return;
      }
      lostReason = e instanceof Error ? rvName(e) : String(e);
      schedule();
    }
  }

  const signThen = <T>(data: Buffer | string, finish: (signature: Buffer) => T): Promise<T> => {
    if (state !== 'ready') return Promise.reject(unavailable());
    let input: Buffer;
    try {
      input = opts.alg === 'ES256' ? sha256(data) : typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    } catch (e) {
      return Promise.reject(e);
    }
    // One promise per signature: the session pool queues the job itself, not a promise for a session.
    return new Promise<T>((resolve, fail) => {
      const job: SignJob = { input, finish, resolve: resolve as (v: unknown) => void, fail };
      const s = free.pop();
      if (s) {
        start(s, job);
        return;
      }
      const busy = signingSession();
      if (busy && post(busy, job)) return;
      waiters.push(job);
    });
  };

  return {
    kind: 'pkcs11',
    alg: opts.alg,
    spkiDer: spki,
    get slot() {
      return slotNumber(slot);
    },
    get signingThreads() {
      return work.filter((w) => w !== undefined).length;
    },
    [SIGN_THREADS]: threads,
    sign: (data) => signThen(data, returnSignature),
    signThen,
    async withSession(fn) {
      const s = await acquire();
      try {
        return fn(lib, s.handle);
      } finally {
        release(s);
      }
    },
    status(): TokenStatus {
      const detail =
        state === 'ready'
          ? `PKCS#11 ${where} (slot ${slotNumber(slot)}), key "${opts.key.label}", ${opts.sessions} session(s)`
          : state === 'lost'
            ? `PKCS#11 ${where} lost since ${new Date(lostSince).toISOString()} (${lostReason}); re-login with backoff`
            : state === 'pin-refused'
              ? `PKCS#11 ${where}: PIN refused at re-login; not retried`
              : 'closed';
      const place = (slotNow?: number): TokenPlace =>
        opts.tokenLabel !== undefined
          ? { label: opts.tokenLabel, ...(slotNow !== undefined ? { slot: String(slotNow) } : {}) }
          : { slot: String(opts.slot) };
      const facts: TokenFacts =
        state === 'ready'
          ? { state, place: place(slotNumber(slot)), key: opts.key.label, sessions: opts.sessions }
          : state === 'lost'
            ? { state, place: place(), since: new Date(lostSince).toISOString(), reason: lostReason }
            : state === 'pin-refused'
              ? { state, place: place() }
              : { state: 'closed' };
      return { kind: 'pkcs11', ready: state === 'ready', detail, facts };
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      if (timer) clearTimeout(timer);
      for (const w of waiters.splice(0)) w.fail(unavailable());
      // Threads stop before the sessions close; their unfinished batches fail (callers keep the messages).
      await threads?.terminate();
      for (const w of work.splice(0)) for (const j of w?.jobs ?? []) j.fail(unavailable());
      retire();
      releaseModule(opts.module);
    },
  };
}
