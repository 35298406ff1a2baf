// One LevelDB per appliance, one sublevel per component, so that a flow can commit its business
// change, its outbox entries and the acknowledgement of the local request in ONE atomic batch.
import { ClassicLevel } from 'classic-level';
import type { AbstractChainedBatch } from 'abstract-level';
import { syncWritesByDefault } from './syncedWrites.js';

export type Db = ClassicLevel<string, Uint8Array>;
export type Batch = AbstractChainedBatch<Db, string, Uint8Array>;

/** Sublevel names: each component owns exactly one (or a prefix family) of these. */
export const SUBLEVELS = {
  broker: 'broker',        // aedes persistence (subscriptions, retained, outgoing, will...)
  ingress: 'ingress',      // durable ingress: QoS 1 publishes stored before PUBACK
  requests: 'requests',    // local req/# requests awaiting the gateway (受付)
  local: 'local',          // replies and pushes to local systems (res/{id}, to/{id}/{type}) awaiting delivery
  pending: 'pending',      // interactive requests awaiting an upstream reply (deadline per request)
  seen: 'seen',            // local request ids already handled (dedupe of resends)
  answers: 'answers',      // replies to local requests, kept for resends within the dedupe window
  outbox: 'outbox',        // upstream store-and-forward
  inbox: 'inbox',          // upstream message ids seen (dedupe window)
  identity: 'identity',    // 本人確認情報 with history and indexes
  moveout: 'moveout',      // pending move-out certificates (転出証明書情報)
  consistency: 'consistency',
  audit: 'audit',
  provision: 'provision',  // 情報提供等記録
  keys: 'keys',            // wrapped data keys, token state
  ui: 'ui',                // accounts, sessions, config versions
} as const;

/**
 * `sync` (config broker.syncWrites, default true): every write is fsynced unless its caller says
 * otherwise (syncedWrites.ts); false: process-crash safety only.
 */
export async function openApplianceDb(path: string, opts: { sync?: boolean } = {}): Promise<Db> {
  // LevelDB mmaps every open table file (up to 1000): at Yokohama scale (≈2 GB of tables) that alone
  // put the RSS over 2.5 GB. A bounded table cache keeps it near 0.5 GB for a few % of read latency.
  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view', maxOpenFiles: 128 });
  if (opts.sync ?? true) syncWritesByDefault(db);
  await db.open();
  return db;
}

/** Fixed-width decimal so lexicographic key order is numeric order. */
export function seqKey(n: number | bigint, width = 16): string {
  return n.toString().padStart(width, '0');
}
