// Exponential backoff with full jitter: many appliances reconnecting after a national outage must not
// hit the upstream broker in lock-step.
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Delay before attempt `attempt` (1 = first retry): random in [base/2, base], base = initial·2^(attempt-1) capped at max. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + random() * (exp / 2));
}
