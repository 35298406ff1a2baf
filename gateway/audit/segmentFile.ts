// Offline check of an exported segment file: chain from its prevHash, signed checkpoints, and that
// the segment ends on a checkpoint (otherwise its tail could have been cut without trace).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { entryHash, type AuditEntry } from './chain.js';
import { checkpointProblem, pinAccepts, type CheckpointRecord } from './checkpoint.js';
import { handoverOf, keyEpochs, type Handover } from './keyHistory.js';

export interface SegmentVerifyReport {
  ok: boolean;
  fromSeq: number | null;
  toSeq: number | null;
  entries: number;
  checkpoints: number;
  problem?: { seq: number | null; message: string };
}

export async function verifySegmentFile(
  file: string,
  opts: { trustedKids?: Iterable<string>; trustedCerts?: Iterable<Uint8Array> } = {},
): Promise<SegmentVerifyReport> {
  const handovers = new Map<number, Handover>();
  let header: { fromSeq: number; toSeq: number; prevHash: string } | undefined;
  const hashes = new Map<number, string>();
  const cps: CheckpointRecord[] = [];
  const certs = new Map<string, Uint8Array>();
  let expected = 0;
  let prev = '';
  let entries = 0;
  const fail = (seq: number | null, message: string): SegmentVerifyReport => ({
    ok: false,
    fromSeq: header?.fromSeq ?? null,
    toSeq: header?.toSeq ?? null,
    entries,
    checkpoints: cps.length,
    problem: { seq, message },
  });
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    lineNo++;
    if (line === '') continue;
    let rec: { type?: string } & Record<string, unknown>;
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      return fail(null, `line ${lineNo} is not JSON`);
    }
    if (lineNo === 1) {
      if (rec.type !== 'segment') return fail(null, 'not an audit segment file (first line)');
      const h = rec as { fromSeq: number; toSeq: number; prevHash: string };
      header = h;
      expected = h.fromSeq;
      prev = h.prevHash;
      continue;
    }
    if (rec.type === 'entry') {
      // why: a line read off disk is JSON of no known shape; the chain check below refuses one that is not an entry.
      const e = rec as unknown as AuditEntry;
      if (e.seq !== expected)
        return fail(expected, e.seq > expected ? `entry ${expected} is missing` : `entry ${e.seq} is out of place at ${expected}`);
      if (entryHash(e.prev, e.seq, e.event) !== e.hash) return fail(e.seq, `entry ${e.seq} does not match its hash`);
      if (e.prev !== prev) return fail(e.seq, `entry ${e.seq} does not chain to entry ${e.seq - 1}`);
      hashes.set(e.seq, e.hash);
      const h = handoverOf(e.event);
      if (h) handovers.set(e.seq, h);
      prev = e.hash;
      expected++;
      entries++;
    } else if (rec.type === 'checkpoint') {
      const { type: _t, ...cp } = rec;
      // why: a checkpoint line is JSON of no known shape; its signature check below refuses one that is not a checkpoint.
      cps.push(cp as unknown as CheckpointRecord);
    } else if (rec.type === 'cert' && typeof rec.kid === 'string' && typeof rec.der === 'string') {
      certs.set(rec.kid, Buffer.from(rec.der, 'base64'));
    } else {
      return fail(null, `line ${lineNo}: unknown record`);
    }
  }
  if (!header) return fail(null, 'empty file');
  if (expected - 1 !== header.toSeq) return fail(expected, `segment should end at ${header.toSeq} but ends at ${expected - 1}`);
  cps.sort((a, b) => a.seq - b.seq);
  for (const cp of cps) {
    const problem = checkpointProblem(cp, 'audit.checkpoint', certs);
    if (problem) return fail(cp.seq, `checkpoint ${cp.seq}: ${problem}`);
    if (hashes.get(cp.seq) !== cp.hash) return fail(cp.seq, `checkpoint ${cp.seq} does not match the chain`);
  }
  // Same key history as the live log: a pinned key vouches for the keys handed over from or to it.
  const untrusted = keyEpochs(cps, (seq) => handovers.get(seq), pinAccepts(opts, certs)).find((e) => !e.trusted);
  if (untrusted) return fail(untrusted.fromSeq, `checkpoint ${untrusted.fromSeq}: signed by an untrusted key ${untrusted.kid}`);
  if (!cps.some((c) => c.seq === header.toSeq)) return fail(header.toSeq, 'segment does not end on a signed checkpoint');
  return { ok: true, fromSeq: header.fromSeq, toSeq: header.toSeq, entries, checkpoints: cps.length };
}
