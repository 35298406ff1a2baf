// Data key rotation as an operator action on the running appliance (admin UI, /api/v1, `juki-gw keys
// rotate-data-key`): a new key becomes current at once for every writer, then a background pass
// re-encrypts every sealed sublevel while the flows keep running, and the older keys are retired
// (crypto-shredded) only when a count over the whole database finds no value left under them.
import type { Logger } from '../log/logger.js';
import type { Db } from '../store/db.js';
import type { DataKeyInfo, Keyring } from './keyring.js';
import { reencrypt, sealedCensus, type SublevelRef } from './reencrypt.js';
import { SEALED_SUBLEVELS } from './sealedSublevels.js';
import { trackWrites } from './writeTracker.js';

export interface DataKeyRotationStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  by?: string;
  startedAt?: string;
  finishedAt?: string;
  newKeyId?: number;
  /** Keys that were active before the rotation and are now retired. */
  retired: number[];
  passes: number;
  scanned: number;
  rewritten: number;
  /** Values written by the flows during the pass (already under the new key). */
  skippedConcurrent: number;
  restored: number;
  /** Sealed values that did not authenticate (left as they were). */
  unreadable: number;
  /** Values still under an older key after the passes, by sublevel and key id: why a key was kept. */
  remaining: Record<string, Record<number, number>>;
  /** Every older key was retired (false while running, and when a key had to be kept). */
  complete: boolean;
  detail?: string;
}

export interface DataKeyRotation {
  keys(): DataKeyInfo[];
  status(): DataKeyRotationStatus;
  /** Makes a new key current and starts the background pass; refused (started: false) while one runs. */
  start(by: string): Promise<{ started: boolean; status: DataKeyRotationStatus }>;
  /** The status once the running rotation (if any) has ended. */
  settled(): Promise<DataKeyRotationStatus>;
  /** Stops a running pass between two batches (at shutdown); older keys then stay active. */
  close(): Promise<void>;
}

export interface DataKeyRotationOptions {
  db: Db;
  keyring: Keyring;
  targets?: readonly SublevelRef[];
  logger?: Logger;
  /** Called once per rotation when it ends (audit trail). */
  onFinished?: (s: DataKeyRotationStatus) => Promise<void> | void;
  batchSize?: number;
  /** Passes over sublevels that still hold older values (writes sealed just before the rotation). */
  maxPasses?: number;
  /** How long to wait for writes issued before the rotation (default 10 s). */
  earlierWritesTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createDataKeyRotation(opts: DataKeyRotationOptions): DataKeyRotation {
  const { db, keyring: ring, logger } = opts;
  const targets = [...(opts.targets ?? SEALED_SUBLEVELS)];
  const tracker = trackWrites(db);
  let status: DataKeyRotationStatus = { state: 'idle', retired: [], passes: 0, scanned: 0, rewritten: 0, skippedConcurrent: 0, restored: 0, unreadable: 0, remaining: {}, complete: false };
  let running: Promise<void> | undefined;
  let abort: AbortController | undefined;

  /**
   * Writes issued before the rotation may carry values sealed under the old key; they are in
   * flight for milliseconds. Each key seen idle once has had its older write applied.
   */
  async function drainEarlierWrites(keys: string[], signal: AbortSignal): Promise<void> {
    let left = keys;
    const until = Date.now() + (opts.earlierWritesTimeoutMs ?? 10_000);
    while (left.length && Date.now() < until) {
      signal.throwIfAborted();
      left = left.filter((k) => tracker.inFlight(k));
      if (left.length) await sleep(10);
    }
  }

  /** Sublevels with values under a key other than the current one. */
  function stale(census: Record<string, Record<number, number>>, current: number): Record<string, Record<number, number>> {
    const out: Record<string, Record<number, number>> = {};
    for (const [sub, per] of Object.entries(census)) {
      for (const [id, n] of Object.entries(per)) if (Number(id) !== current) (out[sub] ??= {})[Number(id)] = n;
    }
    return out;
  }

  async function run(s: DataKeyRotationStatus, earlier: string[], signal: AbortSignal): Promise<void> {
    await drainEarlierWrites(earlier, signal);
    let pass: SublevelRef[] = targets;
    let left: Record<string, Record<number, number>> = {};
    const targetNames = new Set(targets.map((t) => (typeof t === 'string' ? t : '')));
    for (let i = 0; i < (opts.maxPasses ?? 3) && pass.length; i++) {
      const r = await reencrypt(db, ring, pass, { signal, countRemaining: false, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) });
      s.passes++;
      s.scanned += r.scanned; s.rewritten += r.rewritten; s.skippedConcurrent += r.skippedConcurrent; s.restored += r.restored;
      s.unreadable += r.unreadable.length;
      left = stale(await sealedCensus(db), ring.currentKeyId());
      // Only targets can be moved; older values elsewhere keep their key (reported, never lost).
      pass = Object.keys(left).filter((sub) => targetNames.has(sub));
      if (pass.length) await sleep(200);
    }
    s.remaining = left;
    const inUse = new Set(Object.values(left).flatMap((per) => Object.keys(per).map(Number)));
    const kept = [...inUse].sort((a, b) => a - b);
    // A write issued before the rotation and still not applied may carry an older key: keep them all.
    const blocked = earlier.filter((key) => tracker.inFlight(key)).length;
    if (blocked === 0) {
      for (const k of ring.keys()) {
        if (k.state !== 'active' || k.current || inUse.has(k.id)) continue;
        await ring.retire(k.id);
        s.retired.push(k.id);
      }
    }
    s.complete = kept.length === 0 && blocked === 0;
    s.detail = s.complete
      ? `every sealed value is under data key ${s.newKeyId}; retired ${s.retired.length ? s.retired.join(', ') : 'none (no older key was active)'}`
      : kept.length === 0
        ? `older data keys kept: ${blocked} write(s) issued before the rotation have not completed (run the rotation again)`
        : `data key(s) ${kept.join(', ')} kept: ${Object.entries(left).map(([sub, per]) => `${sub || '(root)'} ${Object.entries(per).map(([id, n]) => `${n} under ${id}`).join(', ')}`).join('; ')}` +
          (Object.keys(left).some((sub) => !targetNames.has(sub)) ? ' (a sublevel that is not a re-encryption target: add it to SEALED_SUBLEVELS)' : ' (run the rotation again)');
  }

  const self: DataKeyRotation = {
    keys: () => ring.keys(),
    status: () => structuredClone(status),
    async start(by) {
      if (running) return { started: false, status: self.status() };
      const s: DataKeyRotationStatus = { state: 'running', by, startedAt: new Date().toISOString(), retired: [], passes: 0, scanned: 0, rewritten: 0,
        skippedConcurrent: 0, restored: 0, unreadable: 0, remaining: {}, complete: false };
      status = s;
      const ac = abort = new AbortController();
      let done!: () => void;
      running = new Promise<void>((r) => { done = r; });
      try {
        s.newKeyId = await ring.rotate();
      } catch (e) {
        Object.assign(s, { state: 'failed', finishedAt: new Date().toISOString(), detail: `no new data key: ${(e as Error).message}` });
        running = undefined;
        done();
        return { started: false, status: self.status() };
      }
      const earlier = tracker.inFlightKeys();
      logger?.info({ newKeyId: s.newKeyId, by }, 'data key rotation started');
      void (async () => {
        try {
          await run(s, earlier, ac.signal);
          s.state = 'done';
        } catch (e) {
          s.state = 'failed';
          s.detail = ac.signal.aborted ? 'stopped at shutdown; older data keys stay active (run the rotation again)' : `re-encryption failed: ${(e as Error).message}`;
        }
        s.finishedAt = new Date().toISOString();
        logger?.[s.state === 'done' ? 'info' : 'error']({ newKeyId: s.newKeyId, retired: s.retired, rewritten: s.rewritten, passes: s.passes, detail: s.detail }, 'data key rotation ended');
        try { await opts.onFinished?.(self.status()); } catch (e) { logger?.error({ err: (e as Error).message }, 'data key rotation: recording the result failed'); }
        running = undefined;
        done();
      })();
      return { started: true, status: self.status() };
    },
    async settled() {
      await running;
      return self.status();
    },
    async close() {
      abort?.abort();
      await running;
    },
  };
  return self;
}
