// Data key rotation as an operator action on the running appliance (admin UI, /api/v1, `juki-gw keys
// rotate-data-key`): a new key becomes current at once for every writer, then a background pass
// re-encrypts every sealed sublevel while the flows keep running, and the older keys are retired
// (crypto-shredded) only when a count over the whole database finds no value left under them.
// Its progress is kept in the database (rotationState.ts): a rotation cut by a restart resumes
// by itself when the appliance starts again, and its status survives the restart.
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { DataKeyInfo, Keyring } from './keyring.js';
import { reencrypt, sealedCensus, type SublevelRef } from './reencrypt.js';
import { rotationStateStore, type PersistedRotation } from './rotationState.js';
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
  /** Sublevels the first pass has finished (kept across a restart: a resumed pass skips them). */
  finishedSublevels?: string[];
  /** When the appliance resumed this rotation after a restart. */
  resumedAt?: string[];
  detail?: string;
}

export interface DataKeyRotation {
  keys(): DataKeyInfo[];
  status(): DataKeyRotationStatus;
  /** Makes a new key current and starts the background pass; refused (started: false) while one runs. */
  start(by: string): Promise<{ started: boolean; status: DataKeyRotationStatus }>;
  /** The status once the running rotation (if any) has ended. */
  settled(): Promise<DataKeyRotationStatus>;
  /** Pauses a running pass between two batches (at shutdown); it resumes at the next start, older keys stay active until then. */
  close(): Promise<void>;
}

export interface DataKeyRotationOptions {
  db: Db;
  keyring: Keyring;
  targets?: readonly SublevelRef[];
  logger?: Logger;
  /** Called once per rotation when it ends (audit trail); not when a shutdown only pauses it. */
  onFinished?: (s: DataKeyRotationStatus) => Promise<void> | void;
  /** Called when a rotation cut by a restart is resumed at start (audit trail). */
  onResumed?: (s: DataKeyRotationStatus) => Promise<void> | void;
  batchSize?: number;
  /** Passes over sublevels that still hold older values (writes sealed just before the rotation). */
  maxPasses?: number;
  /** How long to wait for writes issued before the rotation (default 10 s). */
  earlierWritesTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const nameOf = (t: SublevelRef) => (typeof t === 'string' ? t : t.prefix);

const idle = (): DataKeyRotationStatus => ({
  state: 'idle',
  retired: [],
  passes: 0,
  scanned: 0,
  rewritten: 0,
  skippedConcurrent: 0,
  restored: 0,
  unreadable: 0,
  remaining: {},
  complete: false,
});

/** The rotation state the database holds: ids, counters and sublevel names only. */
function toRecord(s: DataKeyRotationStatus, previousKeyId: number): PersistedRotation {
  return {
    v: 1,
    state: s.state === 'idle' ? 'running' : s.state,
    by: s.by ?? '(none)',
    startedAt: s.startedAt ?? new Date().toISOString(),
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
    previousKeyId,
    ...(s.newKeyId !== undefined ? { newKeyId: s.newKeyId } : {}),
    retired: [...s.retired],
    passes: s.passes,
    scanned: s.scanned,
    rewritten: s.rewritten,
    skippedConcurrent: s.skippedConcurrent,
    restored: s.restored,
    unreadable: s.unreadable,
    remaining: structuredClone(s.remaining),
    complete: s.complete,
    finishedSublevels: [...(s.finishedSublevels ?? [])],
    resumedAt: [...(s.resumedAt ?? [])],
    ...(s.detail ? { detail: s.detail } : {}),
  };
}

function fromRecord(r: PersistedRotation): DataKeyRotationStatus {
  const { v: _v, previousKeyId: _p, ...rest } = r;
  return structuredClone(rest);
}

export function createDataKeyRotation(opts: DataKeyRotationOptions): DataKeyRotation {
  const { db, keyring: ring, logger } = opts;
  const targets = [...(opts.targets ?? SEALED_SUBLEVELS)];
  const tracker = trackWrites(db);
  const persisted = rotationStateStore(db);
  let status: DataKeyRotationStatus = idle();
  let previousKeyId = 0;
  let running: Promise<void> | undefined;
  let abort: AbortController | undefined;
  let closed = false;

  const save = (s: DataKeyRotationStatus) => persisted.save(toRecord(s, previousKeyId));

  /**
   * Writes issued before the switch of key may carry values sealed under the old key; they are in
   * flight for milliseconds. Only those count: writes issued later (the flows go on writing the
   * same keys all the time) are sealed under the new key.
   */
  async function drainEarlierWrites(mark: number, signal: AbortSignal): Promise<void> {
    const until = Date.now() + (opts.earlierWritesTimeoutMs ?? 10_000);
    while (tracker.pendingBefore(mark) > 0 && Date.now() < until) {
      signal.throwIfAborted();
      await sleep(10);
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

  /**
   * One pass over `subs`, sublevel by sublevel. The counters shown live include the sublevel under
   * way; the stored ones only finished sublevels, so a pass cut by a restart counts each value once.
   */
  async function pass(s: DataKeyRotationStatus, subs: SublevelRef[], first: boolean, signal: AbortSignal): Promise<void> {
    for (const sub of subs) {
      const base = {
        scanned: s.scanned,
        rewritten: s.rewritten,
        skippedConcurrent: s.skippedConcurrent,
        restored: s.restored,
        unreadable: s.unreadable,
      };
      const add = (r: { scanned: number; rewritten: number; skippedConcurrent: number; restored: number; unreadable: string[] }) =>
        Object.assign(s, {
          scanned: base.scanned + r.scanned,
          rewritten: base.rewritten + r.rewritten,
          skippedConcurrent: base.skippedConcurrent + r.skippedConcurrent,
          restored: base.restored + r.restored,
          unreadable: base.unreadable + r.unreadable.length,
        });
      add(
        await reencrypt(db, ring, [sub], {
          signal,
          countRemaining: false,
          onProgress: add,
          ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        }),
      );
      if (first) (s.finishedSublevels ??= []).push(nameOf(sub));
      await save(s);
    }
  }

  async function run(s: DataKeyRotationStatus, switchMark: number, signal: AbortSignal): Promise<void> {
    await drainEarlierWrites(switchMark, signal);
    const targetNames = new Set(targets.map((t) => (typeof t === 'string' ? t : '')));
    // After a restart the first pass goes on where it stopped; the census below still checks everything.
    const done = new Set(s.finishedSublevels ?? []);
    let first = s.passes === 0;
    let todo: SublevelRef[] = first ? targets.filter((t) => !done.has(nameOf(t))) : [];
    let left: Record<string, Record<number, number>> = {};
    for (let i = 0; ; i++) {
      if (first || todo.length) {
        await pass(s, todo, first, signal);
        s.passes++;
      }
      first = false;
      left = stale(await sealedCensus(db), ring.currentKeyId());
      // Only targets can be moved; older values elsewhere keep their key (reported, never lost).
      todo = Object.keys(left).filter((sub) => targetNames.has(sub));
      await save(s);
      if (!todo.length || i + 1 >= (opts.maxPasses ?? 3)) break;
      await sleep(200);
    }
    s.remaining = left;
    const inUse = new Set(Object.values(left).flatMap((per) => Object.keys(per).map(Number)));
    const kept = [...inUse].sort((a, b) => a - b);
    // A write issued before the rotation and still not applied may carry an older key: keep them all.
    const blocked = tracker.pendingBefore(switchMark);
    if (blocked === 0) {
      for (const k of ring.keys()) {
        if (k.state !== 'active' || k.current || inUse.has(k.id)) continue;
        await ring.retire(k.id);
        s.retired.push(k.id);
      }
    }
    s.complete = kept.length === 0 && blocked === 0;
    s.detail = s.complete
      ? `every sealed value is under data key ${ring.currentKeyId()}; retired ${s.retired.length ? s.retired.join(', ') : 'none (no older key was active)'}`
      : kept.length === 0
        ? `older data keys kept: ${blocked} write(s) issued before the rotation have not completed (run the rotation again)`
        : `data key(s) ${kept.join(', ')} kept: ${Object.entries(left)
            .map(
              ([sub, per]) =>
                `${sub || '(root)'} ${Object.entries(per)
                  .map(([id, n]) => `${n} under ${id}`)
                  .join(', ')}`,
            )
            .join('; ')}` +
          (Object.keys(left).some((sub) => !targetNames.has(sub))
            ? ' (a sublevel that is not a re-encryption target: add it to SEALED_SUBLEVELS)'
            : ' (run the rotation again)');
  }

  /** Runs the background pass of `s`, which is already current and stored as running. */
  function launch(s: DataKeyRotationStatus, ac: AbortController, switchMark: number, done: () => void): void {
    void (async () => {
      try {
        await run(s, switchMark, ac.signal);
        s.state = 'done';
      } catch (e) {
        if (ac.signal.aborted) {
          // Stored as running: the next start resumes it. Not an end, so not audited as one.
          s.detail = 'paused at shutdown; resumes when the appliance starts again (older data keys stay active until then)';
          logger?.info(
            { newKeyId: s.newKeyId, rewritten: s.rewritten, finishedSublevels: s.finishedSublevels },
            'data key rotation paused at shutdown',
          );
          running = undefined;
          done();
          return;
        }
        s.state = 'failed';
        s.detail = `re-encryption failed: ${(e as Error).message}`;
      }
      s.finishedAt = new Date().toISOString();
      // Not stored: the next start resumes it, finds nothing left to move and ends it again (idempotent).
      try {
        await save(s);
      } catch (e) {
        logger?.error({ err: (e as Error).message }, 'data key rotation: storing its end failed (it resumes at the next start)');
      }
      logger?.[s.state === 'done' ? 'info' : 'error'](
        { newKeyId: s.newKeyId, retired: s.retired, rewritten: s.rewritten, passes: s.passes, detail: s.detail },
        'data key rotation ended',
      );
      try {
        await opts.onFinished?.(self.status());
      } catch (e) {
        logger?.error({ err: (e as Error).message }, 'data key rotation: recording the result failed');
      }
      running = undefined;
      done();
    })();
  }

  /** Shows the stored status, and goes on with a rotation a restart cut short. */
  async function resume(): Promise<void> {
    let rec: PersistedRotation | undefined;
    try {
      rec = await persisted.load();
    } catch (e) {
      status = { ...idle(), state: 'failed', detail: `${(e as Error).message} (start a new rotation)` };
      logger?.error({ err: (e as Error).message }, 'data key rotation: stored status unusable');
      return;
    }
    if (!rec) return;
    previousKeyId = rec.previousKeyId;
    const s = (status = fromRecord(rec));
    if (rec.state !== 'running' || closed) return;
    const ac = (abort = new AbortController());
    let done!: () => void;
    running = new Promise<void>((r) => {
      done = r;
    });
    try {
      // Cut between storing the start and making the key: the key is made now.
      if (s.newKeyId === undefined) s.newKeyId = ring.currentKeyId() !== previousKeyId ? ring.currentKeyId() : await ring.rotate();
      (s.resumedAt ??= []).push(new Date().toISOString());
      s.detail = 'resumed after a restart';
      await save(s);
    } catch (e) {
      Object.assign(s, {
        state: 'failed',
        finishedAt: new Date().toISOString(),
        detail: `resuming after a restart failed: ${(e as Error).message}`,
      });
      logger?.error({ err: (e as Error).message }, 'data key rotation: resuming after a restart failed');
      try {
        await save(s);
      } catch {
        /* reported above; the stored record stays running and is retried at the next start */
      }
      running = undefined;
      done();
      return;
    }
    logger?.info(
      { newKeyId: s.newKeyId, by: s.by, startedAt: s.startedAt, finishedSublevels: s.finishedSublevels },
      'data key rotation resumed after a restart',
    );
    try {
      await opts.onResumed?.(structuredClone(s));
    } catch (e) {
      logger?.error({ err: (e as Error).message }, 'data key rotation: recording the resumption failed');
    }
    launch(s, ac, tracker.mark(), done);
  }
  const loaded = resume();

  const self: DataKeyRotation = {
    keys: () => ring.keys(),
    status: () => structuredClone(status),
    async start(by) {
      await loaded;
      if (running || closed) return { started: false, status: self.status() };
      const s: DataKeyRotationStatus = {
        ...idle(),
        state: 'running',
        by,
        startedAt: new Date().toISOString(),
        finishedSublevels: [],
        resumedAt: [],
      };
      status = s;
      const ac = (abort = new AbortController());
      let done!: () => void;
      running = new Promise<void>((r) => {
        done = r;
      });
      try {
        // Stored before the key is made: a restart in between still finds (and finishes) the rotation.
        previousKeyId = ring.currentKeyId();
        await save(s);
        s.newKeyId = await ring.rotate();
        await save(s);
      } catch (e) {
        Object.assign(s, {
          state: 'failed',
          finishedAt: new Date().toISOString(),
          detail: `${s.newKeyId === undefined ? 'no new data key' : 'rotation state not stored'}: ${(e as Error).message}`,
        });
        try {
          await save(s);
        } catch {
          /* the stored record stays running: the next start finishes the rotation */
        }
        running = undefined;
        done();
        return { started: false, status: self.status() };
      }
      logger?.info({ newKeyId: s.newKeyId, by }, 'data key rotation started');
      launch(s, ac, tracker.mark(), done);
      return { started: true, status: self.status() };
    },
    async settled() {
      await loaded;
      await running;
      return self.status();
    },
    async close() {
      closed = true;
      abort?.abort();
      await loaded;
      abort?.abort();
      await running;
    },
  };
  return self;
}
