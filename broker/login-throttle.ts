// Backoff after failed logins (pure: the clock is passed in). Keys are "system rr-01" and
// "address 127.0.0.1": after `allowed` failures in a row on a key, its logins are refused without
// checking the password for backoffMs, doubling with each further failure up to maxBackoffMs; a
// correct guess in that time is refused too, so guessing gains nothing. Refusing at once (instead of
// holding the connection) keeps guessers from tying up connections. What it tells the audit log:
// per burst (from a key's first failure until it succeeds or falls quiet), each failure until the
// backoff starts (at most `allowed`), the start of the backoff, and a summary at the end — never one
// entry per guess.
import type { AuthFailureLimits } from '../config/schema/broker.js';

interface Burst {
  attempts: number;
  checked: number;
  unchecked: number;
  backoffAnnounced: boolean;
}
interface KeyState {
  failures: number;
  blockedUntil: number;
  lastAttempt: number;
  burst: Burst;
}

/** What the broker writes to the audit log. */
export type ThrottleNotice = { kind: 'backoff'; key: string; detail: string } | { kind: 'burst-over'; key: string; detail: string };

/** Above this many keys the oldest are forgotten (a spray of source addresses must not grow memory without bound). */
const MAX_KEYS = 10_000;

export class LoginThrottle {
  readonly #keys = new Map<string, KeyState>();

  constructor(private readonly limits: () => AuthFailureLimits) {}

  /**
   * Before the password is checked: the key whose backoff refuses this login, or null. A refused
   * login counts in the bursts of the keys known already but does not lengthen the backoff.
   */
  refuses(keys: readonly string[], now: number): string | null {
    let refusedBy: string | null = null;
    for (const k of keys) {
      const s = this.#keys.get(k);
      if (s && s.blockedUntil > now) refusedBy ??= k;
    }
    if (refusedBy === null) return null;
    for (const k of keys) {
      const s = this.#keys.get(k);
      if (!s) continue; // a fresh address trying a system in backoff: nothing of its own to count yet
      s.lastAttempt = now;
      s.burst.attempts++;
      s.burst.unchecked++;
    }
    return refusedBy;
  }

  /**
   * A password was checked and was wrong. `audit`: no key of this login is in backoff yet, so this
   * failure gets its own audit entry; later ones are covered by the burst's summary.
   */
  failed(keys: readonly string[], now: number): { audit: boolean; notices: ThrottleNotice[] } {
    const l = this.limits();
    let audit = true;
    const notices: ThrottleNotice[] = [];
    for (const k of keys) {
      const s = this.#touch(k, now);
      if (s.burst.backoffAnnounced) audit = false;
      s.burst.attempts++;
      s.burst.checked++;
      s.failures++;
      if (s.failures < l.allowed) continue;
      const exp = Math.min(s.failures - l.allowed, 30);
      s.blockedUntil = now + Math.min(l.maxBackoffMs, l.backoffMs * 2 ** exp);
      if (!s.burst.backoffAnnounced) {
        s.burst.backoffAnnounced = true;
        notices.push({
          kind: 'backoff',
          key: k,
          detail: `${k}: ${s.failures} failed logins in a row; its attempts are refused unchecked for ${l.backoffMs} ms, doubling with each further failure up to ${l.maxBackoffMs} ms`,
        });
      }
    }
    return { audit, notices };
  }

  /** A login succeeded: the system's burst is over. The address keeps its count (another system may be the one guessed). */
  succeeded(systemKey: string): ThrottleNotice[] {
    const s = this.#keys.get(systemKey);
    if (!s) return [];
    this.#keys.delete(systemKey);
    return s.burst.attempts > 0 ? [summary(systemKey, s, 'successful login')] : [];
  }

  /** Forgets keys quiet for forgetAfterMs, with a summary of each burst that ended so. */
  sweep(now: number): ThrottleNotice[] {
    const quiet = this.limits().forgetAfterMs;
    const out: ThrottleNotice[] = [];
    for (const [k, s] of this.#keys) {
      if (now - s.lastAttempt < quiet || s.blockedUntil > now) continue;
      this.#keys.delete(k);
      out.push(summary(k, s, `quiet for ${quiet} ms`));
    }
    return out;
  }

  #touch(key: string, now: number): KeyState {
    let s = this.#keys.get(key);
    if (!s) {
      if (this.#keys.size >= MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
      s = { failures: 0, blockedUntil: 0, lastAttempt: now, burst: { attempts: 0, checked: 0, unchecked: 0, backoffAnnounced: false } };
      this.#keys.set(key, s);
    }
    s.lastAttempt = now;
    return s;
  }
}

function summary(key: string, s: KeyState, why: string): ThrottleNotice {
  const b = s.burst;
  return {
    kind: 'burst-over',
    key,
    detail: `${key}: burst of failed logins over (${why}): ${b.attempts} attempts, ${b.checked} passwords checked and wrong, ${b.unchecked} refused unchecked`,
  };
}
