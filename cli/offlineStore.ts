// The store a one-shot command opens while the appliance is stopped. On a cluster node that store
// follows the replicated log (it holds the applied position, `!cluster!applied`): a write made here
// would reach this node only, and the two nodes' stores would differ from then on. So on such a
// store every write is refused before anything is written; reads work as on any store.
import { APPLIED_KEY } from '../cluster/applier.js';
import { createApplianceDb, type Db } from '../platform/store/db.js';
import { levelPort } from '../platform/store/levelPort.js';
import type { StoragePort } from '../platform/store/port.js';

export class ClusterStoreWriteRefused extends Error {
  constructor(command: string, path: string, applied: string) {
    super(
      `${command}: ${path} is the store of a cluster node (it has applied the replicated log up to ${applied}); ` +
        'a write made here while the node is stopped would reach this node only and the two nodes would differ. ' +
        'Nothing was written. Run the command while the active node runs, against its configuration: it then goes ' +
        'through the active node and the replicated log.',
    );
    this.name = 'ClusterStoreWriteRefused';
  }
}

/** Opens the appliance store at `path` for `command`; writes are refused on a cluster node's store. */
export async function openOfflineStore(path: string, command: string): Promise<Db> {
  let applied: string | undefined;
  const guarded = (db: Db): StoragePort => {
    const local = levelPort(db);
    const refuse = (): void => {
      if (applied !== undefined) throw new ClusterStoreWriteRefused(command, path, applied);
    };
    return {
      commit: async (ops, opts) => {
        refuse();
        return local.commit(ops, opts);
      },
      clearRange: async (range, opts) => {
        refuse();
        return local.clearRange(range, opts);
      },
    };
  };
  const db = createApplianceDb(path, { port: guarded });
  await db.open();
  const v = await db.get(APPLIED_KEY);
  applied = v === undefined ? undefined : Buffer.from(v).toString('utf8');
  return db;
}
