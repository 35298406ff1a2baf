// Closed segments and retention (保存期間, default 7 years). A closed segment ends at a signed
// checkpoint, so an exported file verifies on its own; retention deletes only what was exported
// and leaves a signed anchor (seq, hash) that the remaining chain starts from.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Signer } from '../../hsm/types.js';
import { ANCHOR_KEY, certKey, CHECKPOINT_RANGE, checkpointKey, entryKey, EXPORTED_KEY, GENESIS_HASH, type AuditEntry } from './chain.js';
import { signCheckpoint, type CheckpointRecord } from './checkpoint.js';
import { auditStore, verifyAuditLog } from './verify.js';

export interface SegmentExport {
  file: string;
  fromSeq: number;
  toSeq: number;
  entries: number;
  checkpoints: number;
  sha256: string;
}
export interface ExportedMark {
  throughSeq: number;
  hash: string;
  at: string;
  file: string;
  sha256: string;
}
export interface RetentionResult {
  prunedThrough: number | null;
  deleted: number;
  reason?: string;
}

export class AuditIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditIntegrityError';
  }
}

/** The last checkpoint whose entry is older than `before`, after `after`. */
async function lastCheckpointBefore(db: Db, before: Date, after: number, atMost = Infinity): Promise<CheckpointRecord | undefined> {
  const store = auditStore(db);
  let found: CheckpointRecord | undefined;
  for await (const v of store.values({ gt: checkpointKey(after), lt: CHECKPOINT_RANGE.lt })) {
    const cp = v as CheckpointRecord;
    if (cp.seq > atMost) break;
    const entry = (await store.get(entryKey(cp.seq))) as AuditEntry | undefined;
    if (!entry || Date.parse(entry.event.at) >= before.getTime()) break;
    found = cp;
  }
  return found;
}

async function refuseIfBroken(db: Db, through: number, trustedKids: string[] | undefined, what: string) {
  const report = await verifyAuditLog(db, trustedKids ? { trustedKids } : {});
  if (report.firstBad && report.firstBad.seq <= through) {
    throw new AuditIntegrityError(
      `refusing to ${what}: entry ${report.firstBad.seq} is ${report.firstBad.reason} (${report.firstBad.message})`,
    );
  }
}

export async function exportSegment(db: Db, opts: { before: Date; out: string; trustedKids?: string[] }): Promise<SegmentExport | null> {
  const store = auditStore(db);
  const anchor = (await store.get(ANCHOR_KEY)) as CheckpointRecord | undefined;
  const exported = (await store.get(EXPORTED_KEY)) as ExportedMark | undefined;
  const start = Math.max(anchor?.seq ?? 0, exported?.throughSeq ?? 0);
  const prevHash = start === 0 ? GENESIS_HASH : start === exported?.throughSeq ? exported.hash : anchor!.hash;
  const end = await lastCheckpointBefore(db, opts.before, start);
  if (!end) return null;
  await refuseIfBroken(db, end.seq, opts.trustedKids, 'export');

  const partial = `${opts.out}.partial`;
  const out = createWriteStream(partial, { mode: 0o600, flags: 'wx' });
  const hash = createHash('sha256');
  const line = async (obj: unknown) => {
    const text = JSON.stringify(obj) + '\n';
    hash.update(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  let entries = 0;
  let checkpoints = 0;
  const kids = new Set<string>();
  try {
    await line({ type: 'segment', version: 1, fromSeq: start + 1, toSeq: end.seq, prevHash, exportedAt: new Date().toISOString() });
    for await (const v of store.values({ gt: entryKey(start), lte: entryKey(end.seq) })) {
      await line({ type: 'entry', ...(v as AuditEntry) });
      entries++;
    }
    for await (const v of store.values({ gt: checkpointKey(start), lte: checkpointKey(end.seq) })) {
      const cp = v as CheckpointRecord;
      kids.add(cp.kid);
      await line({ type: 'checkpoint', ...cp });
      checkpoints++;
    }
    for (const kid of kids) await line({ type: 'cert', kid, der: await store.get(certKey(kid)) });
    out.end();
    await once(out, 'finish');
    await rename(partial, opts.out);
  } catch (e) {
    out.destroy();
    await rm(partial, { force: true });
    throw e;
  }
  const sha256 = hash.digest('hex');
  await store.put(EXPORTED_KEY, {
    throughSeq: end.seq,
    hash: end.hash,
    at: new Date().toISOString(),
    file: opts.out,
    sha256,
  } satisfies ExportedMark);
  return { file: opts.out, fromSeq: start + 1, toSeq: end.seq, entries, checkpoints, sha256 };
}

export async function applyRetention(
  db: Db,
  signer: Signer,
  opts: { retentionYears: number; now: Date; requireExported: boolean; logger?: Logger | undefined; trustedKids?: string[] },
): Promise<RetentionResult> {
  const store = auditStore(db);
  const cutoff = new Date(opts.now);
  cutoff.setFullYear(cutoff.getFullYear() - opts.retentionYears);
  const anchor = (await store.get(ANCHOR_KEY)) as CheckpointRecord | undefined;
  const exported = (await store.get(EXPORTED_KEY)) as ExportedMark | undefined;
  const limit = opts.requireExported ? (exported?.throughSeq ?? 0) : Infinity;
  const through = await lastCheckpointBefore(db, cutoff, anchor?.seq ?? 0, limit);
  if (!through) {
    return {
      prunedThrough: anchor?.seq ?? null,
      deleted: 0,
      reason: opts.requireExported && limit === 0 ? 'nothing exported yet' : 'nothing older than the retention period',
    };
  }
  await refuseIfBroken(db, through.seq, opts.trustedKids ?? [signer.kid], 'prune');
  const signed = await signCheckpoint(signer, 'audit.prune', through.seq, through.hash);
  await store.batch([
    { type: 'put', key: ANCHOR_KEY, value: signed },
    { type: 'put', key: certKey(signer.kid), value: Buffer.from(signer.certificateDer).toString('base64') },
  ]);
  // Deleting in chunks after the anchor is stored: verify skips leftovers at or below the anchor.
  let deleted = 0;
  for (const range of [
    { gte: 'e/', lte: entryKey(through.seq) },
    { gte: 'c/', lte: checkpointKey(through.seq) },
  ]) {
    for (;;) {
      const keys = await store.keys({ ...range, limit: 1000 }).all();
      if (keys.length === 0) break;
      await store.batch(keys.map((key) => ({ type: 'del' as const, key })));
      if (range.gte === 'e/') deleted += keys.length;
    }
  }
  opts.logger?.info({ prunedThrough: through.seq, deleted }, 'audit retention applied');
  return { prunedThrough: through.seq, deleted };
}
