// Where the cluster keeps its state in etcd, under the installation's prefix.
import { seqKey } from '../platform/store/db.js';

/**
 * The applied position in each node's own LevelDB, written in the same batch as the entries it covers:
 * a consistent snapshot of the store (a backup) carries the log position it reflects.
 */
export const APPLIED_KEY = '!cluster!applied';

export interface ClusterKeys {
  /** Held by the active node, bound to its lease; its create revision is the fencing token. */
  leader: string;
  /** Last position appended to the log (so positions continue after compaction emptied it). */
  head: string;
  logPrefix: string;
  /** Applied position of each live node, bound to its lease: `<appliedPrefix><nodeId>`. */
  appliedPrefix: string;
  /** Positions a copy of a store was taken at (a backup), each bound to its own lease: `<holdPrefix><id>`. */
  holdPrefix: string;
  entry(position: number): string;
}

export function clusterKeys(prefix: string): ClusterKeys {
  const logPrefix = `${prefix}/log/`;
  return {
    leader: `${prefix}/leader`,
    head: `${prefix}/head`,
    logPrefix,
    appliedPrefix: `${prefix}/applied/`,
    holdPrefix: `${prefix}/hold/`,
    entry: (position) => logPrefix + seqKey(position),
  };
}

/** Position of a log key (its 16-digit suffix). */
export function positionOf(key: string): number {
  return Number(key.slice(key.lastIndexOf('/') + 1));
}
