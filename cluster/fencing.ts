// The fencing check carried by every write of the active node: the leader key still exists with the
// create revision it had when this node won. A node whose lease ended (the key vanished) or that was
// replaced (the key was created again, by the other node) fails the compare and writes nothing.
import type { Etcd3 } from 'etcd3';
import type { ComparatorBuilder } from 'etcd3/lib/builder.js';

export interface Fence {
  leaderKey: string;
  /** Create revision of the leader key when this node won: the fencing token. */
  token: string;
}

/** A transaction that only the holder of `fence` can commit; add `.then(...)` operations. */
export function fencedTxn(client: Etcd3, fence: Fence): ComparatorBuilder {
  return client.if(fence.leaderKey, 'Create', '==', fence.token);
}
