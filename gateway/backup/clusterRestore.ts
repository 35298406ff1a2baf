// Starting a cluster node — one the log's compaction left behind, or a new one — from a backup taken
// on the active node (docs/cluster.md, "A node behind compaction"). Only the store comes from the
// backup, with the installation's software KEK when the node has none yet (the store's data keys are
// wrapped by it); what is the node's own (its signing key and token, TLS keys, passwords) stays. The
// store carries the log position it reflects (`!cluster!applied`): the node reads the log on from there.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KEK_FILE } from '../crypto/fromConfig.js';
import { BackupRefused } from './archive.js';
import { writeDb, type VerifiedBackup } from './restore.js';

export interface ClusterRestoreResult {
  records: number;
  /** The log position the restored store reflects: the node applies the log from the next entry on. */
  applied: number;
  /** The node's previous store, moved beside the data dir (not deleted). */
  movedAside?: string;
  /** The backup's KEK was written (the node had none). */
  kekWritten: boolean;
}

const KEK_PART = KEK_FILE.split(/[\\/]/).join('/');

/** Replaces dataDir/db by the backup's store; the caller makes sure no appliance holds dataDir. */
export async function restoreClusterStore(backup: VerifiedBackup, dataDir: string): Promise<ClusterRestoreResult> {
  const applied = backup.manifest.cluster?.applied;
  if (applied === undefined)
    throw new BackupRefused(
      'this backup names no cluster log position: it was not taken on a cluster node (take it on the active node: juki-gw backup create there)',
    );
  const target = resolve(dataDir);
  const kek = backup.parts.find((p) => p.kind === 'file' && p.name === KEK_PART);
  const kekPath = join(target, KEK_FILE);
  const ownKek = existsSync(kekPath) ? readFileSync(kekPath) : undefined;
  if (kek && ownKek && !ownKek.equals(kek.data))
    throw new BackupRefused(
      `${kekPath} differs from the KEK in the backup: the nodes of a cluster share one key-encryption key (the store's data keys are wrapped by it), so this data dir is not a node of the installation the backup comes from`,
    );
  mkdirSync(target, { recursive: true, mode: 0o700 });
  const staging = join(target, `.db.restore-${process.pid}-${Date.now()}`);
  let records: number;
  try {
    records = await writeDb(staging, backup.parts.find((p) => p.kind === 'db')!.data);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  const db = join(target, 'db');
  // Beside the data dir, not in it: a later backup of this node would otherwise carry the old store as files.
  const movedAside = existsSync(db) ? `${target}.pre-restore-db-${Date.now()}` : undefined;
  if (movedAside) renameSync(db, movedAside);
  renameSync(staging, db);
  if (kek && !ownKek) {
    mkdirSync(dirname(kekPath), { recursive: true, mode: 0o700 });
    writeFileSync(kekPath, kek.data, { mode: kek.mode });
  }
  return { records, applied, ...(movedAside ? { movedAside } : {}), kekWritten: kek !== undefined && !ownKek };
}
