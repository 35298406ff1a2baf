// Why a cluster node refuses a write: every refusal names its cause, and applied nothing.

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
    super(`replicated log append failed, outcome unknown (${cause instanceof Error ? cause.message : String(cause)}); nothing acknowledged`);
    this.name = 'AppendOutcomeUnknownError';
  }
}
