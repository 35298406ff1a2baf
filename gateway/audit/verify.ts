// `audit verify`: walks the chain once, in key order, and names the first bad entry and why.
// The hash covers seq, so an entry moved to another position is recognised by recomputing its
// hash with nearby sequence numbers: that tells a deletion, an insertion and a reordering apart.
import type { AbstractSublevel } from 'abstract-level';
import type { Db } from '../../platform/store/db.js';
import { SUBLEVELS } from '../../platform/store/db.js';
import {
  ANCHOR_KEY,
  CHECKPOINT_RANGE,
  ENTRY_KEY_RE,
  ENTRY_RANGE,
  entryHash,
  entryKey,
  GENESIS_HASH,
  HEAD_KEY,
  HEX64,
  type AuditEntry,
} from './chain.js';
import { checkpointProblem, pinAccepts, type CheckpointRecord } from './checkpoint.js';
import { handoverOf, keyEpochs, type Handover, type KeyEpoch } from './keyHistory.js';

export type VerifyReason = 'changed' | 'deleted' | 'inserted' | 'reordered' | 'bad_checkpoint' | 'checkpoint_mismatch';

export interface VerifyIssue {
  seq: number;
  reason: VerifyReason;
  message: string;
}

// A type alias, not an interface: the report is a job's Record<string, unknown> result as it is.
export type VerifyReport = {
  ok: boolean;
  /** The earliest problem by sequence number. */
  firstBad?: VerifyIssue;
  issues: VerifyIssue[];
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  checkpoints: number;
  lastCheckpointSeq: number | null;
  /** Entries after the last good checkpoint: chained, not yet signed. */
  unsignedTail: number;
  /** kids that signed checkpoints; `pinned` when they were checked against trusted certificates. */
  signers: string[];
  pinned: boolean;
  /** The signing keys in the order they signed checkpoints, and how each one came in. */
  keyHistory: KeyEpoch[];
  /** Entries before this were removed by retention under a signed anchor. */
  prunedThrough: number | null;
};

type AuditStore = AbstractSublevel<Db, string | Uint8Array, string, unknown>;

export function auditStore(db: Db): AuditStore {
  return db.sublevel<string, unknown>(SUBLEVELS.audit, { valueEncoding: 'json' });
}

/** How far around its position an entry's true seq is looked for. */
const WINDOW = 16;

interface Item {
  keySeq: number;
  rec: AuditEntry | undefined;
  trueSeq: number | null;
}

function shaped(v: unknown): v is AuditEntry {
  const e = v as AuditEntry;
  return (
    typeof e === 'object' &&
    e !== null &&
    Number.isSafeInteger(e.seq) &&
    typeof e.prev === 'string' &&
    HEX64.test(e.prev) &&
    typeof e.hash === 'string' &&
    HEX64.test(e.hash) &&
    typeof e.event === 'object' &&
    e.event !== null
  );
}

function trueSeqOf(keySeq: number, rec: AuditEntry | undefined): number | null {
  if (!rec) return null;
  if (entryHash(rec.prev, rec.seq, rec.event) === rec.hash) return rec.seq;
  for (let d = 1; d <= WINDOW; d++) {
    for (const s of [keySeq - d, keySeq + d]) if (s >= 1 && entryHash(rec.prev, s, rec.event) === rec.hash) return s;
  }
  return null;
}

/**
 * `trustedKids` / `trustedCerts` pin the signers (a CA certificate pins the certificates it issued);
 * keys handed over from or to a pinned key in the chain are accepted with it. Neither: not pinned.
 * `onProgress(done, total)`: entries checked so far of about `total` (the head's seq), every 1000 entries.
 */
export async function verifyAuditLog(
  db: Db,
  opts: { trustedKids?: Iterable<string>; trustedCerts?: Iterable<Uint8Array>; onProgress?: (done: number, total: number) => void } = {},
): Promise<VerifyReport> {
  const store = auditStore(db);
  const issues: VerifyIssue[] = [];
  const certs = new Map<string, Uint8Array>();
  for await (const [k, v] of store.iterator({ gte: 'cert/', lt: 'cert0' })) certs.set(k.slice(5), Buffer.from(String(v), 'base64'));
  const accepts = pinAccepts(opts, certs);

  // Head and checkpoints are read before the entries: both are written with or after their entry,
  // so appends running during verify cannot look like a truncation.
  const head = (await store.get(HEAD_KEY)) as { seq: number } | undefined;
  const signers = new Set<string>();
  let prunedThrough: number | null = null;
  let prevHash = GENESIS_HASH;
  const anchor = (await store.get(ANCHOR_KEY)) as CheckpointRecord | undefined;
  if (anchor) {
    signers.add(anchor.kid);
    const problem = checkpointProblem(anchor, 'audit.prune', certs);
    if (problem) issues.push({ seq: anchor.seq ?? 0, reason: 'bad_checkpoint', message: `retention anchor: ${problem}` });
    prunedThrough = anchor.seq;
    prevHash = anchor.hash;
  }

  // Checkpoints are few (one per N entries): verify their signatures up front, then whose keys they are.
  // Kept small (seq, kid, hash; one string per kid): a log checkpointed every minute has millions.
  const signed: Array<{ seq: number; kid: string; hash: string }> = [];
  const kidStrings = new Map<string, string>();
  let checkpoints = 0;
  for await (const [k, v] of store.iterator(CHECKPOINT_RANGE)) {
    const rec = v as CheckpointRecord;
    checkpoints++;
    const seq = Number(k.slice(2));
    if (rec?.kid) signers.add(rec.kid);
    const problem =
      rec?.seq !== seq ? `stored under ${seq} but claims ${String(rec?.seq)}` : checkpointProblem(rec, 'audit.checkpoint', certs);
    if (problem) issues.push({ seq, reason: 'bad_checkpoint', message: `checkpoint ${seq}: ${problem}` });
    else {
      if (!kidStrings.has(rec.kid)) kidStrings.set(rec.kid, rec.kid);
      signed.push({ seq, kid: kidStrings.get(rec.kid)!, hash: rec.hash });
    }
  }
  // A change of key is a handover only when the outgoing key's last checkpoint signs a handover entry.
  const handovers = new Map<number, Handover>();
  for (let i = 0; i + 1 < signed.length; i++) {
    const cp = signed[i]!;
    if (cp.kid === signed[i + 1]!.kid) continue;
    const e = await store.get(entryKey(cp.seq));
    if (!shaped(e) || e.seq !== cp.seq || e.hash !== cp.hash || entryHash(e.prev, e.seq, e.event) !== e.hash) continue;
    const h = handoverOf(e.event);
    if (h) handovers.set(cp.seq, h);
  }
  const keyHistory = keyEpochs(signed, (seq) => handovers.get(seq), accepts);
  const trustedRunKids = new Set(keyHistory.filter((e) => e.trusted).map((e) => e.kid));
  for (const e of keyHistory) {
    if (e.trusted) continue;
    issues.push({
      seq: e.fromSeq,
      reason: 'bad_checkpoint',
      message:
        `checkpoint ${e.fromSeq}: signed by an untrusted key ${e.kid} (checkpoints ${e.fromSeq}..${e.toSeq}): ` +
        'neither pinned, nor issued by a pinned CA, nor handed over from or to a pinned key',
    });
  }
  if (anchor && accepts && !accepts(anchor.kid) && !trustedRunKids.has(anchor.kid)) {
    issues.push({ seq: anchor.seq ?? 0, reason: 'bad_checkpoint', message: `retention anchor: signed by an untrusted key ${anchor.kid}` });
  }
  // Epochs are consecutive runs of `signed`: walk both in step.
  const goodCheckpoints = new Map<number, string>();
  let epoch = 0;
  for (const cp of signed) {
    while (keyHistory[epoch]!.toSeq < cp.seq) epoch++;
    if (keyHistory[epoch]!.trusted) goodCheckpoints.set(cp.seq, cp.hash);
  }

  let expected = (prunedThrough ?? 0) + 1;
  let prevPrevHash: string | null = null;
  let entries = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let lastGoodCheckpoint = prunedThrough ?? 0;
  let entryIssue: VerifyIssue | undefined;

  const it = store.iterator(ENTRY_RANGE);
  const buf: Item[] = [];
  let done = false;
  const fill = async () => {
    while (!done && buf.length <= WINDOW) {
      const next = await it.next();
      if (!next) {
        done = true;
        break;
      }
      const [k, v] = next;
      const m = ENTRY_KEY_RE.exec(k);
      const keySeq = m ? Number(m[1]) : NaN;
      if (!m) {
        buf.push({ keySeq, rec: undefined, trueSeq: null });
        continue;
      }
      const rec = shaped(v) ? v : undefined;
      buf.push({ keySeq, rec, trueSeq: trueSeqOf(keySeq, rec) });
    }
  };
  try {
    for (;;) {
      await fill();
      const item = buf.shift();
      if (!item) break;
      if (Number.isNaN(item.keySeq)) {
        entryIssue = { seq: expected, reason: 'inserted', message: `foreign record in the entry range before entry ${expected}` };
        break;
      }
      if (prunedThrough !== null && item.keySeq <= prunedThrough) continue;
      entries++;
      if (opts.onProgress && entries % 1000 === 0) opts.onProgress(entries, Math.max(entries, (head?.seq ?? 0) - (prunedThrough ?? 0)));
      firstSeq ??= item.keySeq;
      lastSeq = item.keySeq;
      const { keySeq, rec, trueSeq } = item;
      if (keySeq > expected) {
        entryIssue = { seq: expected, reason: 'deleted', message: `entry ${expected} is missing (next stored entry is ${keySeq})` };
        break;
      }
      if (!rec || trueSeq === null) {
        entryIssue = { seq: keySeq, reason: 'changed', message: `entry ${keySeq} does not match its hash (content altered)` };
        break;
      }
      if (trueSeq > expected) {
        const later = buf.find((b) => b.trueSeq === expected);
        entryIssue = later
          ? {
              seq: expected,
              reason: 'reordered',
              message: `position ${expected} holds entry ${trueSeq}; entry ${expected} sits at ${later.keySeq}`,
            }
          : {
              seq: expected,
              reason: 'deleted',
              message: `entry ${expected} is missing; later entries were renumbered (position ${expected} holds entry ${trueSeq})`,
            };
        break;
      }
      if (trueSeq < expected) {
        entryIssue = {
          seq: expected - 1,
          reason: 'inserted',
          message: `entry ${expected - 1} was inserted: the original entry ${trueSeq} follows it at position ${expected}`,
        };
        break;
      }
      if (rec.prev !== prevHash) {
        entryIssue =
          rec.prev === prevPrevHash
            ? {
                seq: expected - 1,
                reason: 'inserted',
                message: `entry ${expected - 1} was inserted: entry ${expected} chains to entry ${expected - 2}`,
              }
            : {
                seq: expected - 1,
                reason: 'changed',
                message: `entry ${expected - 1} was replaced: entry ${expected} does not chain to it`,
              };
        break;
      }
      if (rec.seq !== keySeq) {
        entryIssue = { seq: keySeq, reason: 'changed', message: `entry ${keySeq} has its seq field altered to ${rec.seq}` };
        break;
      }
      const signed = goodCheckpoints.get(keySeq);
      if (signed !== undefined) {
        if (signed !== rec.hash) {
          entryIssue = {
            seq: lastGoodCheckpoint + 1,
            reason: 'checkpoint_mismatch',
            message: `entries ${lastGoodCheckpoint + 1}..${keySeq} were rewritten: checkpoint ${keySeq} signed ${signed.slice(0, 12)}…, the chain has ${rec.hash.slice(0, 12)}…`,
          };
          break;
        }
        lastGoodCheckpoint = keySeq;
      }
      prevPrevHash = prevHash;
      prevHash = rec.hash;
      expected++;
    }
  } finally {
    await it.close();
  }

  if (!entryIssue) {
    const maxCheckpoint = Math.max(0, ...goodCheckpoints.keys());
    const mustReach = Math.max(head?.seq ?? 0, maxCheckpoint);
    if (mustReach >= expected) {
      entryIssue = { seq: expected, reason: 'deleted', message: `entries ${expected}..${mustReach} are missing (log truncated)` };
    }
  }
  if (entryIssue) issues.push(entryIssue);
  issues.sort((a, b) => a.seq - b.seq);
  const lastCheckpointSeq = goodCheckpoints.size ? Math.max(...goodCheckpoints.keys()) : null;
  return {
    ok: issues.length === 0,
    ...(issues[0] ? { firstBad: issues[0] } : {}),
    issues,
    entries,
    firstSeq,
    lastSeq,
    checkpoints,
    lastCheckpointSeq,
    // Counted over the entries walked: a walk stopped early must not subtract checkpoints it never reached.
    unsignedTail: lastSeq === null ? 0 : Math.max(0, lastSeq - Math.max(lastGoodCheckpoint, prunedThrough ?? 0)),
    signers: [...signers],
    pinned: accepts !== undefined,
    prunedThrough,
    keyHistory,
  };
}
