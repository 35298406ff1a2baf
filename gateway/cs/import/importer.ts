// `juki-gw import`: loads a register extract (or a generated population) into the identity store
// in batches. Each batch commits its records together with a checkpoint (line, byte offset), so an
// interrupted import resumes exactly after the last committed line: nothing twice, nothing lost.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AbstractSublevel } from 'abstract-level';
import { diffFields } from '../../../domain/consistency.js';
import { SUBLEVELS, type Batch, type Db } from '../../../platform/store/db.js';
import { generateResidents, type PopulationSpec } from '../../../sim/residents.js';
import { IdentityStore, IdentityStoreError } from '../identityStore.js';
import type { IdentityChange } from '../identityStoreTypes.js';
import { parseHeader, parseLine, type ImportFormat, type ImportProblem } from './format.js';

export interface ImportProgress {
  done: number;
  total: number;
  unit: 'bytes' | 'records';
  lines: number;
  accepted: number;
  unchanged: number;
  rejected: number;
}
export interface ImportSummary {
  lines: number; // data lines read (this run and the runs it resumed)
  accepted: number; // stored as a new record or a new version
  unchanged: number; // identical to what the store already held
  rejected: number; // lines with problems (see the report)
  resumedFromLine: number;
}

export interface ImportOptions {
  resume?: boolean;
  batchSize?: number;
  onProgress?: (p: ImportProgress) => void;
  onProblem?: (p: ImportProblem) => void;
}

interface Checkpoint {
  kind: 'file' | 'generate';
  source: string;
  size?: number;
  mtimeMs?: number;
  columns?: string[];
  line: number; // last committed line (file) or record index (generate)
  offset: number; // byte offset after that line
  accepted: number;
  unchanged: number;
  rejected: number;
  fresh?: boolean;
  done: boolean;
}

export class ImportError extends Error {}

type Sub = AbstractSublevel<any, string | Uint8Array, string, string>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested sublevel

function checkpoints(db: Db): Sub {
  return db
    .sublevel<string, string>(SUBLEVELS.identity, { valueEncoding: 'utf8' })
    .sublevel<string, string>('import', { valueEncoding: 'utf8' });
}

/** Lines of a file with the byte offset after each, from byte `start`. */
async function* linesFrom(path: string, start: number): AsyncGenerator<{ text: string; end: number }> {
  let carry: Buffer = Buffer.alloc(0);
  let pos = start;
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buf: Buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let from = 0;
    for (let nl = buf.indexOf(10, from); nl >= 0; nl = buf.indexOf(10, from)) {
      pos += nl + 1 - from;
      yield { text: buf.toString('utf8', from, nl).replace(/\r$/, ''), end: pos };
      from = nl + 1;
    }
    carry = buf.subarray(from);
  }
  if (carry.length) yield { text: carry.toString('utf8').replace(/\r$/, ''), end: pos + carry.length };
}

class BatchWriter {
  private batch: Batch;
  private codes = new Set<string>();
  private numbers = new Set<string>();
  pending = 0;

  constructor(
    private readonly db: Db,
    private readonly store: IdentityStore,
    private readonly cp: Checkpoint,
    private readonly sub: Sub,
    private readonly key: string,
  ) {
    this.batch = db.batch();
  }

  /** Stores one change unless identical to the stored record; store conflicts come back as problems. */
  async add(change: IdentityChange, line: number, fresh: boolean): Promise<ImportProblem | undefined> {
    // Two lines of one batch about the same person or number: commit the first so the store sees it.
    if (this.codes.has(change.residentCode) || this.numbers.has(change.myNumber)) await this.flush();
    if (!fresh) {
      const old = await this.store.get(change.residentCode);
      if (old && diffFields(old, { ...change, status: change.status ?? old.status, updateSeq: old.updateSeq }).length === 0) {
        this.cp.unchanged++;
        return undefined;
      }
    }
    try {
      await this.store.apply(this.batch, change, { mode: 'load', fresh });
    } catch (e) {
      if (!(e instanceof IdentityStoreError)) throw e;
      this.cp.rejected++;
      const d = e.details[0];
      return { line, field: d?.path ?? 'record', rule: `store.${e.code}`, message: `${e.message}${d ? ` (${d.problem})` : ''}` };
    }
    this.codes.add(change.residentCode);
    this.numbers.add(change.myNumber);
    this.cp.accepted++;
    this.pending++;
    return undefined;
  }

  private inFlight: Promise<void> | undefined;

  /**
   * Commits the batch with the checkpoint. `overlap` (fresh bulk loads only, where nothing is read
   * back) lets the next batch be built while this one is written; writes still land one at a time,
   * in order, each with its own checkpoint.
   */
  async flush(overlap = false): Promise<void> {
    this.batch.put(this.key, JSON.stringify(this.cp), { sublevel: this.sub });
    await this.inFlight;
    const write = this.batch.write();
    this.batch = this.db.batch();
    this.codes.clear();
    this.numbers.clear();
    this.pending = 0;
    if (overlap) this.inFlight = write;
    else {
      this.inFlight = undefined;
      await write;
    }
  }
}

async function loadCheckpoint(sub: Sub, key: string, resume: boolean | undefined, describe: string): Promise<Checkpoint | undefined> {
  const raw = await sub.get(key);
  const cp = raw ? (JSON.parse(raw) as Checkpoint) : undefined;
  if (cp && !cp.done && !resume)
    throw new ImportError(`an import of ${describe} stopped after line ${cp.line}: rerun with --resume to continue it`);
  if (!cp || cp.done || !resume) return undefined;
  return cp;
}

/** Imports a CSV or JSONL register extract (docs/import.md). */
export async function importFile(
  db: Db,
  store: IdentityStore,
  path: string,
  format: ImportFormat,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const abs = resolve(path);
  const st = statSync(abs);
  const sub = checkpoints(db);
  const key = 'file:' + createHash('sha256').update(abs).digest('hex');
  const prior = await loadCheckpoint(sub, key, opts.resume, abs);
  if (prior && (prior.size !== st.size || prior.mtimeMs !== st.mtimeMs)) {
    throw new ImportError(`${abs} changed since the interrupted import (size or modification time): it cannot be resumed`);
  }
  if (opts.resume && !prior) throw new ImportError(`nothing to resume for ${abs}`);
  const cp: Checkpoint = prior ?? {
    kind: 'file',
    source: abs,
    size: st.size,
    mtimeMs: st.mtimeMs,
    line: 0,
    offset: 0,
    accepted: 0,
    unchanged: 0,
    rejected: 0,
    done: false,
  };
  const resumedFromLine = cp.line;
  const writer = new BatchWriter(db, store, cp, sub, key);
  const batchSize = opts.batchSize ?? 1000;
  let lineNo = cp.line;
  let columns = cp.columns;
  const report = (p: ImportProblem) => opts.onProblem?.(p);
  const progress = () =>
    opts.onProgress?.({
      done: cp.offset,
      total: st.size,
      unit: 'bytes',
      lines: cp.line,
      accepted: cp.accepted,
      unchanged: cp.unchanged,
      rejected: cp.rejected,
    });
  for await (const { text, end } of linesFrom(abs, cp.offset)) {
    lineNo++;
    if (format === 'csv' && lineNo === 1) {
      const h = parseHeader(text);
      if ('problems' in h) {
        h.problems.forEach(report);
        throw new ImportError(`${abs}: the CSV header is not usable (${h.problems.length} problem(s))`);
      }
      columns = cp.columns = h.columns;
    } else {
      const { change, problems } = parseLine(format, text, lineNo, columns);
      if (problems.length) {
        cp.rejected++;
        problems.forEach(report);
      } else if (change) {
        const p = await writer.add(change, lineNo, false);
        if (p) report(p);
      }
    }
    cp.line = lineNo;
    cp.offset = end;
    if (writer.pending >= batchSize || (lineNo - resumedFromLine) % (batchSize * 10) === 0) {
      await writer.flush();
      progress();
    }
  }
  cp.done = true;
  await writer.flush();
  progress();
  return {
    lines: cp.line - (columns && format === 'csv' ? 1 : 0),
    accepted: cp.accepted,
    unchanged: cp.unchanged,
    rejected: cp.rejected,
    resumedFromLine,
  };
}

/** Loads a generated population (sim/residents.ts): demos and the benchmark. */
export async function importGenerated(
  db: Db,
  store: IdentityStore,
  spec: PopulationSpec,
  count: number,
  opts: ImportOptions & { seed?: string } = {},
): Promise<ImportSummary> {
  const sub = checkpoints(db);
  const source = `${spec.name}/${opts.seed ?? 'juki-gw'}/${count}`;
  const key = 'generate:' + source;
  const prior = await loadCheckpoint(sub, key, opts.resume, `generated ${source}`);
  if (opts.resume && !prior) throw new ImportError(`nothing to resume for generated ${source}`);
  // Into an empty store the generator's codes and numbers are new by construction: skip the reads.
  const cp: Checkpoint = prior ?? {
    kind: 'generate',
    source,
    line: 0,
    offset: 0,
    accepted: 0,
    unchanged: 0,
    rejected: 0,
    fresh: store.lastSeq() === 0,
    done: false,
  };
  const writer = new BatchWriter(db, store, cp, sub, key);
  const batchSize = opts.batchSize ?? 2000;
  const progress = () =>
    opts.onProgress?.({
      done: cp.line,
      total: count,
      unit: 'records',
      lines: cp.line,
      accepted: cp.accepted,
      unchanged: cp.unchanged,
      rejected: cp.rejected,
    });
  for (const r of generateResidents(spec, { seed: opts.seed, count: count - cp.line, start: cp.line })) {
    const p = await writer.add(r, cp.line + 1, cp.fresh === true);
    if (p) opts.onProblem?.(p);
    cp.line++;
    if (writer.pending >= batchSize) {
      await writer.flush(cp.fresh === true);
      progress();
    }
  }
  cp.done = true;
  await writer.flush();
  progress();
  return { lines: cp.line, accepted: cp.accepted, unchanged: cp.unchanged, rejected: cp.rejected, resumedFromLine: prior ? prior.line : 0 };
}
