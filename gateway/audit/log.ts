// The audit log (操作ログ): append-only, hash-chained, checkpointed by the HSM key.
// Appends are serialised in-process: the chain head moves synchronously when an entry is put into
// a batch, so a flow can record its access in the same atomic batch as its change. Batches may be
// in flight concurrently; one that is closed unwritten or fails still has its entry written (its
// hash is already someone's `prev`) followed by an `audit.void` entry naming it.
import type { Registry } from 'prom-client';
import { nowIso } from '../../platform/envelope.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Batch, Db } from '../../platform/store/db.js';
import type { Signer } from '../../hsm/types.js';
import { sameKeySigner, type PreviousKeySigner } from '../../hsm/previous-key.js';
import {
  certKey,
  CHECKPOINT_RANGE,
  checkpointKey,
  ENTRY_RANGE,
  entryHash,
  entryKey,
  GENESIS_HASH,
  HEAD_KEY,
  ANCHOR_KEY,
  type AuditEntry,
} from './chain.js';
import { signCheckpoint, type CheckpointRecord } from './checkpoint.js';
import { parseAuditEvent, type AuditEvent, type AuditEventInput } from './event.js';
import { HANDOVER_ACTION, handoverOf } from './keyHistory.js';
import { auditMetrics } from './metrics.js';
import { queryEntries, type AuditQuery } from './query.js';
import { applyRetention, exportSegment, type RetentionResult, type SegmentExport } from './segment.js';
import { auditStore, verifyAuditLog, type VerifyReport } from './verify.js';
import type { LookupAlerts } from './lookupAlerts.js';

export interface AuditLogOptions {
  db: Db;
  signer: Signer;
  /** Sign a checkpoint after this many entries (default 1000)… */
  checkpointEvery?: number;
  /** …or after this many seconds with unsigned entries (default 60). */
  checkpointSeconds?: number;
  logger?: Logger;
  registry?: Registry;
  /** Earlier signing certificates' kids still trusted by verify() (after a certificate renewal). */
  trustedKids?: string[];
  retentionYears?: number;
  /** Look-up alarm detector fed with every committed entry. */
  lookupAlerts?: LookupAlerts;
  /**
   * The outgoing key when the signer's certificate differs from the one the log was signed with so
   * far: it signs the handover entry. Default: the running key under the earlier certificate.
   */
  previousKey?: PreviousKeySigner;
}

export interface AuditLog {
  append(event: AuditEventInput): Promise<{ seq: number; hash: string }>;
  /** Puts the entry into `batch` (write or close the batch afterwards, always). Throws AuditEventError on a bad event. */
  appendToBatch(batch: Batch, event: AuditEventInput): { seq: number; hash: string };
  /** Signs a checkpoint over the committed head now (null when nothing new). */
  checkpoint(): Promise<CheckpointRecord | null>;
  verify(): Promise<VerifyReport>;
  query(filter?: AuditQuery): Promise<AuditEntry[]>;
  /** Writes the closed segment (through the last checkpoint before `before`) to `out` as JSON lines. */
  exportSegment(opts: { before: Date; out: string }): Promise<SegmentExport | null>;
  /** Deletes entries older than the retention period that were exported, under a signed anchor. */
  applyRetention(opts?: { now?: Date; requireExported?: boolean }): Promise<RetentionResult>;
  head(): { seq: number; hash: string };
  close(): Promise<void>;
}

interface Pending {
  entry: AuditEntry;
  settled: boolean;
}

/** Databases with an open audit log: a second writer would fork the chain (two heads). */
const openOn = new WeakSet<Db>();

export async function createAuditLog(opts: AuditLogOptions): Promise<AuditLog> {
  const { db } = opts;
  if (openOn.has(db))
    throw new Error('an audit log is already open on this database: share that instance (two writers would fork the chain)');
  openOn.add(db);
  try {
    return await openAuditLog(opts);
  } catch (e) {
    openOn.delete(db);
    throw e;
  }
}

async function openAuditLog(opts: AuditLogOptions): Promise<AuditLog> {
  const { db, signer, logger } = opts;
  const every = opts.checkpointEvery ?? 1000;
  const seconds = opts.checkpointSeconds ?? 60;
  const retentionYears = opts.retentionYears ?? 7;
  const metrics = auditMetrics(opts.registry);
  const store = auditStore(db);

  // Head: the last stored entry (entries beyond the stored `head` record can exist when batches
  // completed out of order before a crash).
  let head = { seq: 0, hash: GENESIS_HASH };
  const anchor = (await store.get(ANCHOR_KEY)) as CheckpointRecord | undefined;
  if (anchor) head = { seq: anchor.seq, hash: anchor.hash };
  for await (const [, v] of store.iterator({ ...ENTRY_RANGE, reverse: true, limit: 1 })) {
    const e = v as AuditEntry;
    head = { seq: e.seq, hash: e.hash };
  }
  let lastCheckpoint = 0;
  for await (const [k] of store.iterator({ gte: 'c/', lt: 'c0', reverse: true, limit: 1 })) lastCheckpoint = Number(k.slice(2));
  lastCheckpoint = Math.max(lastCheckpoint, anchor?.seq ?? 0);

  const pending = new Map<number, Pending>();
  let closed = false;
  let checkpointRun: Promise<CheckpointRecord | null> | null = null;
  const storedCerts = new Set<string>();

  const committedSeq = () => {
    let min = Infinity;
    for (const s of pending.keys()) if (s < min) min = s;
    return min === Infinity ? head.seq : min - 1;
  };
  const updateUnsigned = () => metrics.unsigned.set(Math.max(0, head.seq - lastCheckpoint));

  async function doCheckpoint(): Promise<CheckpointRecord | null> {
    const target = committedSeq();
    if (target <= lastCheckpoint) return null;
    const entry = (await store.get(entryKey(target))) as AuditEntry | undefined;
    if (!entry) throw new Error(`audit: committed entry ${target} is not readable`);
    const rec = await signCheckpoint(signer, 'audit.checkpoint', target, entry.hash);
    const ops: Array<{ type: 'put'; key: string; value: unknown }> = [{ type: 'put', key: checkpointKey(target), value: rec }];
    if (!storedCerts.has(signer.kid))
      ops.push({ type: 'put', key: certKey(signer.kid), value: Buffer.from(signer.certificateDer).toString('base64') });
    await store.batch(ops);
    storedCerts.add(signer.kid);
    lastCheckpoint = Math.max(lastCheckpoint, target);
    metrics.checkpoints.inc();
    updateUnsigned();
    return rec;
  }

  function checkpoint(): Promise<CheckpointRecord | null> {
    const run: Promise<CheckpointRecord | null> = (checkpointRun ?? Promise.resolve(null)).catch(() => null).then(doCheckpoint);
    checkpointRun = run;
    run
      .catch((e: Error) => {
        metrics.checkpointFailures.inc();
        logger?.error({ err: e.message }, 'audit checkpoint failed; entries stay chained, unsigned until the next one');
      })
      .finally(() => {
        if (checkpointRun === run) checkpointRun = null;
      });
    return run;
  }

  const timer = setInterval(() => {
    if (committedSeq() > lastCheckpoint) checkpoint().catch(() => undefined);
  }, seconds * 1000);
  timer.unref();

  function settle(list: Pending[], ok: boolean) {
    for (const p of list) {
      if (p.settled) continue;
      p.settled = true;
      pending.delete(p.entry.seq);
      if (ok) {
        metrics.entries.inc({ outcome: p.entry.event.outcome });
        observe(p.entry.event);
      } else {
        voidEntry(p.entry);
      }
    }
    updateUnsigned();
    if (ok && committedSeq() - lastCheckpoint >= every && !checkpointRun) checkpoint().catch(() => undefined);
  }

  function observe(event: AuditEvent) {
    if (!opts.lookupAlerts) return;
    for (const alarm of opts.lookupAlerts.observe(event)) {
      append({
        actor: { kind: 'appliance', id: 'lookup-alerts' },
        action: 'audit.lookupAlarm',
        outcome: 'ok',
        ...(alarm.scope === 'terminal' ? { terminalId: alarm.subject } : {}),
        detail: { scope: alarm.scope, subject: alarm.subject, rule: alarm.rule, value: alarm.value, threshold: alarm.threshold },
      }).catch((e: Error) => logger?.error({ err: e.message }, 'audit: could not record a look-up alarm'));
    }
  }

  function voidEntry(entry: AuditEntry) {
    metrics.voids.inc();
    logger?.warn({ seq: entry.seq, action: entry.event.action }, 'audit entry batch was not committed; recording it as void');
    // The entry's hash is already chained into later entries: write it as it is, then say it was void.
    store
      .put(entryKey(entry.seq), entry)
      .then(() =>
        append({
          actor: { kind: 'appliance', id: 'audit' },
          action: 'audit.void',
          outcome: 'error',
          code: 'internal',
          detail: { voidSeq: entry.seq },
        }),
      )
      .catch((e: Error) =>
        logger?.error({ err: e.message, seq: entry.seq }, 'audit: could not write a voided entry; verify will report it deleted'),
      );
  }

  function track(batch: Batch, p: Pending) {
    const b = batch as Batch & { [tracked]?: Pending[] };
    let list = b[tracked];
    if (list) {
      list.push(p);
      return;
    }
    list = [p];
    b[tracked] = list;
    const write: (...a: unknown[]) => Promise<void> = batch.write.bind(batch);
    const close = batch.close.bind(batch);
    let writing = false;
    const l = list;
    // This batch's write, replaced in place: its entries settle once it lands.
    const settlingWrite = async (...args: unknown[]) => {
      writing = true;
      try {
        await write(...args);
      } catch (e) {
        settle(l, false);
        throw e;
      }
      settle(l, true);
    };
    Object.defineProperty(batch, 'write', { value: settlingWrite, writable: true, configurable: true });
    (batch as { close: Batch['close'] }).close = async () => {
      await close();
      if (!writing) settle(l, false);
    };
  }

  function appendToBatch(batch: Batch, input: AuditEventInput): { seq: number; hash: string } {
    if (closed) throw new Error('audit log is closed');
    const event = parseAuditEvent(input, nowIso);
    const seq = head.seq + 1;
    const entry: AuditEntry = { seq, prev: head.hash, hash: entryHash(head.hash, seq, event), event };
    batch.put(entryKey(seq), entry, { sublevel: store });
    batch.put(HEAD_KEY, { seq, hash: entry.hash }, { sublevel: store });
    head = { seq, hash: entry.hash };
    const p: Pending = { entry, settled: false };
    pending.set(seq, p);
    track(batch, p);
    return { seq, hash: entry.hash };
  }

  async function append(input: AuditEventInput): Promise<{ seq: number; hash: string }> {
    const batch = db.batch();
    let r: { seq: number; hash: string };
    try {
      r = appendToBatch(batch, input);
    } catch (e) {
      await batch.close();
      throw e;
    }
    await batch.write();
    return r;
  }

  /** The key the log is signed with so far: the last checkpoint's, or the one a later handover named. */
  async function currentKid(): Promise<string | undefined> {
    let kid = anchor?.kid;
    let from = anchor?.seq ?? 0;
    for await (const v of store.values({ ...CHECKPOINT_RANGE, reverse: true, limit: 1 })) {
      const cp = v as CheckpointRecord;
      if (cp.seq >= from) {
        kid = cp.kid;
        from = cp.seq;
      }
    }
    for await (const v of store.values({ gte: entryKey(from), lte: entryKey(head.seq) })) {
      const h = handoverOf((v as AuditEntry).event ?? {});
      if (h) kid = h.toKid;
    }
    return kid;
  }

  /**
   * A new signing certificate (renewed, or a new key): the outgoing key signs a checkpoint over an
   * `audit.keyHandover` entry naming both, written in one batch with the incoming certificate, so
   * the log carries its own key history. Without the outgoing key the change is recorded as an
   * error entry and older checkpoints verify only against their own pinned certificate.
   */
  async function handOver(): Promise<void> {
    const fromKid = await currentKid();
    if (!fromKid || fromKid === signer.kid) return;
    const toKid = signer.kid;
    const der = (await store.get(certKey(fromKid))) as string | undefined;
    let previous: Awaited<ReturnType<PreviousKeySigner>> = null;
    let why = 'its certificate is not in the log';
    if (der) {
      try {
        previous = await (opts.previousKey ?? sameKeySigner(signer))(Buffer.from(der, 'base64'));
        why = 'no key on the token fits its certificate';
      } catch (e) {
        why = (e as Error).message;
      }
    }
    if (previous) {
      try {
        const event = parseAuditEvent(
          { actor: { kind: 'appliance', id: 'audit' }, action: HANDOVER_ACTION, outcome: 'ok', detail: { fromKid, toKid } },
          nowIso,
        );
        const seq = head.seq + 1;
        const entry: AuditEntry = { seq, prev: head.hash, hash: entryHash(head.hash, seq, event), event };
        const rec = await signCheckpoint(previous.signer, 'audit.checkpoint', seq, entry.hash);
        await store.batch([
          { type: 'put', key: entryKey(seq), value: entry },
          { type: 'put', key: HEAD_KEY, value: { seq, hash: entry.hash } },
          { type: 'put', key: checkpointKey(seq), value: rec },
          { type: 'put', key: certKey(toKid), value: Buffer.from(signer.certificateDer).toString('base64') },
        ]);
        head = { seq, hash: entry.hash };
        lastCheckpoint = seq;
        storedCerts.add(toKid);
        metrics.entries.inc({ outcome: 'ok' });
        metrics.checkpoints.inc();
        updateUnsigned();
        logger?.info({ seq, fromKid, toKid }, 'audit signing key handed over; the outgoing key signed the handover');
        return;
      } catch (e) {
        why = `signing with it failed: ${(e as Error).message}`;
      } finally {
        await previous.release();
      }
    }
    logger?.error(
      { fromKid, toKid, reason: why },
      'audit: the outgoing signing key cannot sign a handover; checkpoints before the change verify only with their own certificate pinned',
    );
    await append({
      actor: { kind: 'appliance', id: 'audit' },
      action: HANDOVER_ACTION,
      outcome: 'error',
      code: 'outgoing_key_unavailable',
      detail: { fromKid, toKid, reason: why.slice(0, 512) },
    });
    // The incoming key signs at once, so the next start sees it as the current key and records nothing again.
    await checkpoint().catch(() => undefined);
  }

  try {
    await handOver();
  } catch (e) {
    clearInterval(timer);
    throw e;
  }

  return {
    append,
    appendToBatch,
    checkpoint,
    verify: () => verifyAuditLog(db, { trustedKids: [signer.kid, ...(opts.trustedKids ?? [])] }),
    query: (filter = {}) => queryEntries(store, filter),
    exportSegment: (o) => exportSegment(db, o),
    applyRetention: (o = {}) =>
      applyRetention(db, signer, { retentionYears, now: o.now ?? new Date(), requireExported: o.requireExported ?? true, logger }),
    head: () => ({ ...head }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      try {
        await checkpoint();
      } catch {
        /* logged; the next start signs the tail */
      }
      openOn.delete(db);
    },
  };
}

const tracked = Symbol('jukigw.audit.pending');
