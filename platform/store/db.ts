// One LevelDB per appliance, one sublevel per component, so that a flow can commit its business
// change, its outbox entries and the acknowledgement of the local request in ONE atomic batch.
import { existsSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import type { AbstractChainedBatch } from 'abstract-level';
import { installCommitPath } from './commitPath.js';
import { levelPort } from './levelPort.js';
import type { StoragePort } from './port.js';
import type {} from './syncOption.js';

export type Db = ClassicLevel<string, Uint8Array>;
export type Batch = AbstractChainedBatch<Db, string, Uint8Array>;

/** Sublevel names: each component owns exactly one (or a prefix family) of these. */
export const SUBLEVELS = {
  broker: 'broker', // aedes persistence (subscriptions, retained, outgoing, will...)
  ingress: 'ingress', // durable ingress: QoS 1 publishes stored before PUBACK
  requests: 'requests', // local req/# requests awaiting the gateway (受付)
  local: 'local', // replies and pushes to local systems (res/{id}, to/{id}/{type}) awaiting delivery
  pending: 'pending', // interactive requests awaiting an upstream reply (deadline per request)
  seen: 'seen', // local request ids already handled (dedupe of resends)
  answers: 'answers', // replies to local requests, kept for resends within the dedupe window
  outbox: 'outbox', // upstream store-and-forward
  inbox: 'inbox', // upstream message ids seen (dedupe window)
  identity: 'identity', // 本人確認情報 with history and indexes
  moveout: 'moveout', // pending move-out certificates (転出証明書情報)
  consistency: 'consistency',
  audit: 'audit',
  provision: 'provision', // 情報提供等記録
  keys: 'keys', // wrapped data keys, token state
  ui: 'ui', // accounts, sessions, config versions
} as const;

/** Makes the store's port from the opened local LevelDB (default: levelPort, LevelDB itself). */
export type StoragePortFactory = (db: Db) => StoragePort;

export interface StoreOptions {
  /**
   * Config broker.syncWrites (default true): every write is fsynced unless its caller says otherwise
   * (commitPath.ts); false: process-crash safety only.
   */
  sync?: boolean;
  /** Where every write goes (port.ts); the composition root chooses, a cluster its replicated log. */
  port?: StoragePortFactory;
}

/**
 * The appliance store at `path`, created if missing, NOT yet opened (the standalone broker opens its
 * own when it starts), with the commit path installed: the one way every DB of the appliance is made.
 */
export function createApplianceDb(path: string, opts: StoreOptions = {}): Db {
  // LevelDB mmaps every open table file (up to 1000): at Yokohama scale (≈2 GB of tables) that alone
  // put the RSS over 2.5 GB. A bounded table cache keeps it near 0.5 GB for a few % of read latency.
  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view', maxOpenFiles: 128 });
  installCommitPath(db, (opts.port ?? levelPort)(db), opts.sync ?? true);
  return db;
}

/** createApplianceDb, opened. */
export async function openApplianceDb(path: string, opts: StoreOptions = {}): Promise<Db> {
  const db = createApplianceDb(path, opts);
  await db.open();
  return db;
}

/** An existing store opened to be read (a backup's snapshot): every write is refused. */
export async function openDbForReading(path: string): Promise<Db> {
  const db = new ClassicLevel<string, Uint8Array>(path, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
    maxOpenFiles: 128,
    createIfMissing: false,
  });
  installCommitPath(db, readOnlyPort(path), true);
  await db.open();
  return db;
}

function readOnlyPort(path: string): StoragePort {
  const refuse = async () => {
    throw new Error(`the store at ${path} is open for reading only: nothing was written`);
  };
  return { commit: refuse, clearRange: refuse };
}

/** True when another process (a running appliance) holds the store's lock; false when it is free or absent. */
export async function storeLocked(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  const db = new ClassicLevel(path, { createIfMissing: false });
  try {
    await db.open();
    await db.close();
    return false;
  } catch (e) {
    return (e as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED' || (e as { code?: string }).code === 'LEVEL_LOCKED';
  }
}

/** Fixed-width decimal so lexicographic key order is numeric order. */
export function seqKey(n: number | bigint, width = 16): string {
  return n.toString().padStart(width, '0');
}
