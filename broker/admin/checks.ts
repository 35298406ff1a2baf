// Readiness checks for /readyz: each answers ok or a short reason an operator can act on.
import { statfs } from 'node:fs/promises';
import type { Db } from '../../platform/store/db.js';

export interface CheckResult {
  ok: boolean;
  detail?: string;
}
export interface ReadinessCheck {
  name: string;
  run(): Promise<CheckResult>;
}

export function listenersCheck(broker: { listenersUp(): boolean }): ReadinessCheck {
  return {
    name: 'listeners',
    run: async () => (broker.listenersUp() ? { ok: true } : { ok: false, detail: 'not every configured listener is up' }),
  };
}

/** A probe write (and delete) proves the appliance DB accepts writes, not merely that it is open. */
export function dbWritableCheck(db: Db): ReadinessCheck {
  return {
    name: 'db',
    async run() {
      try {
        const key = `readyz-probe:${process.pid}`;
        await db.put(key, new Uint8Array([1]));
        await db.del(key);
        return { ok: true };
      } catch (e) {
        return { ok: false, detail: `probe write failed: ${(e as Error).message}` };
      }
    },
  };
}

/** `minFreeBytes` may be a getter: a live configuration change then applies to the next check. */
export function diskSpaceCheck(dir: string, minFree: number | (() => number)): ReadinessCheck {
  return {
    name: 'disk-space',
    async run() {
      const minFreeBytes = typeof minFree === 'function' ? minFree() : minFree;
      try {
        const s = await statfs(dir);
        const free = Number(s.bavail) * Number(s.bsize);
        return free >= minFreeBytes ? { ok: true } : { ok: false, detail: `${free} bytes free, minimum ${minFreeBytes}` };
      } catch (e) {
        return { ok: false, detail: `statfs failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
      }
    },
  };
}
