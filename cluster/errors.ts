// Why a cluster node refuses a write: every refusal names its cause, and applied nothing.
import { ClientRuntimeError, EtcdError, EtcdLeaseInvalidError, GRPCGenericError } from 'etcd3';

/** This node is not the active node (never was, or lost its lease / was fenced out by a newer leader). */
export class NotLeaderError extends Error {
  constructor(why: string) {
    super(`not the active node: ${why}`);
    this.name = 'NotLeaderError';
  }
}

/** etcd did not answer the append: it may or may not be in the log; the node resynchronises before its next write. */
export class AppendOutcomeUnknownError extends Error {
  constructor(cause: unknown) {
    super(
      `replicated log append failed, outcome unknown (${cause instanceof Error ? cause.message : String(cause)}); nothing acknowledged`,
    );
    this.name = 'AppendOutcomeUnknownError';
  }
}

/** etcd could not be reached or did not answer in time: worth trying again, unlike a gap in the log or a disk error. */
export function isEtcdUnavailable(e: unknown): boolean {
  return (
    e instanceof GRPCGenericError ||
    e instanceof EtcdError ||
    e instanceof EtcdLeaseInvalidError ||
    e instanceof ClientRuntimeError ||
    (e instanceof Error && (e.name === 'BrokenCircuitError' || e.name === 'TaskCancelledError'))
  );
}
