// A consistent snapshot of a data dir as backup parts: every regular file outside db/, and the
// LevelDB as its records read through one iterator (LevelDB iterators read an implicit snapshot,
// so a running appliance can hand in its open db; offline, the db is opened here read-only in spirit).
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { openDbForReading, type Db } from '../../platform/store/db.js';
import { APPLIED_KEY } from '../../cluster/keys.js';
import { BackupRefused, checkPartName, encodeRecords, type Part } from './archive.js';

export const DB_PART = 'db.records';
const DB_DIR = 'db';

/** The raw-bytes view a snapshot needs (ClassicLevel satisfies it whatever its default encodings). */
export interface RecordSource {
  iterator(options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): AsyncIterable<[Buffer, Buffer]> & { close(): Promise<void> };
}

/** Progress of a snapshot in bytes read: `total` is LevelDB's estimate of its size (compressed, so `done` may pass it). */
export type SnapshotProgress = (done: number, total: number) => void;

async function approximateBytes(db: RecordSource): Promise<number> {
  // why: approximateSize is classic-level's, not in the record source's type; absent elsewhere (then 0).
  const approx = (db as unknown as { approximateSize?: (a: Buffer, b: Buffer) => Promise<number> }).approximateSize;
  try {
    return approx ? await approx.call(db, Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff, 0xff])) : 0;
  } catch {
    return 0;
  }
}

const APPLIED = Buffer.from(APPLIED_KEY, 'utf8');

/** The records, and the cluster log position they reflect (a cluster node's store; undefined on a single box). */
export async function dbRecords(db: RecordSource, onProgress?: SnapshotProgress): Promise<{ records: Buffer; clusterApplied?: number }> {
  const total = onProgress ? await approximateBytes(db) : 0;
  const it = db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const records: [Buffer, Buffer][] = [];
  let bytes = 0;
  let clusterApplied: number | undefined;
  try {
    for await (const kv of it) {
      records.push(kv);
      // Read through the same iterator, so the position is the one the records reflect.
      if (kv[0].equals(APPLIED)) clusterApplied = Number(kv[1].toString('utf8'));
      bytes += kv[0].length + kv[1].length;
      // The estimate is of compressed files: hold at 99 % until the end rather than claim 100 % early.
      if (onProgress && records.length % 1000 === 0) onProgress(Math.min(bytes, Math.floor(total * 0.99)), total);
    }
    onProgress?.(bytes, bytes);
  } finally {
    await it.close();
  }
  return { records: encodeRecords(records), ...(clusterApplied === undefined ? {} : { clusterApplied }) };
}

/**
 * PIN files (the data-dir SoftHSM's user.pin and so.pin, or any other `*.pin`) never go into a
 * backup: with them, whoever holds the backup could log in to the token inside it and unwrap the
 * data keys. The operator supplies the PIN on the machine a backup is restored to.
 */
export function neverBackedUp(rel: string): boolean {
  return basename(rel).endsWith('.pin');
}

function filesUnder(root: string, dir: string, out: Part[], leftOut: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = relative(root, full).split(sep).join('/');
    if (rel === DB_DIR) continue;
    const st = lstatSync(full);
    if (neverBackedUp(rel)) {
      leftOut.push(rel);
      continue;
    }
    if (st.isDirectory()) filesUnder(root, full, out, leftOut);
    // The same name rule restore applies: a backup that could not be restored fails now, not then.
    else if (st.isFile()) out.push({ name: checkPartName(rel), kind: 'file', mode: st.mode & 0o777, data: readFileSync(full) });
    else throw new BackupRefused(`${rel}: not a regular file or folder (symbolic links and devices are not backed up)`);
  }
}

/**
 * Parts of the data dir. `db` is the running appliance's open database; without it the data dir's
 * db is opened here, which fails while an appliance holds it.
 */
export interface Snapshot {
  parts: Part[];
  /** Data-dir files deliberately left out (PIN files). */ leftOut: string[];
  /** Cluster mode: the log position the database part reflects. */
  clusterApplied?: number;
}

export async function snapshotDataDir(dataDir: string, db?: RecordSource, onProgress?: SnapshotProgress): Promise<Snapshot> {
  const parts: Part[] = [];
  const leftOut: string[] = [];
  let records: { records: Buffer; clusterApplied?: number };
  if (db) {
    records = await dbRecords(db, onProgress);
  } else {
    let own: Db;
    try {
      own = await openDbForReading(join(dataDir, DB_DIR));
    } catch (e) {
      const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
      throw new BackupRefused(
        `cannot open the database in ${join(dataDir, DB_DIR)}: ${cause} (stop the appliance, or back up from inside it)`,
      );
    }
    try {
      records = await dbRecords(own, onProgress);
    } finally {
      await own.close();
    }
  }
  filesUnder(dataDir, dataDir, parts, leftOut);
  parts.unshift({ name: DB_PART, kind: 'db', mode: 0o600, data: records.records });
  return { parts, leftOut, ...(records.clusterApplied === undefined ? {} : { clusterApplied: records.clusterApplied }) };
}
