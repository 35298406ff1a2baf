// The broker's alarms (offline queue, disk space, storage, pre-authentication budget): raised once,
// cleared once, each change logged, audited and handed to the listeners (the admin UI, /readyz).
import type { Logger } from '../platform/log/logger.js';
import type { Alarm } from './limits.js';
import type { BrokerMetrics } from './metrics.js';
import type { BrokerAuditEvent } from './types.js';

export class BrokerAlarms {
  readonly #listeners = new Set<(a: Alarm) => void>();
  /** Raised alarms by `kind:subject`. */
  readonly #active = new Map<string, Alarm>();

  constructor(private readonly o: { log: Logger; metrics: BrokerMetrics; audit?: ((e: BrokerAuditEvent) => void) | undefined }) {}

  /** An arrow, so the guards can hold it as their alarm sink. */
  readonly raise = (a: Omit<Alarm, 'at'>): void => {
    const alarm: Alarm = { ...a, at: new Date().toISOString() };
    const key = `${a.kind}:${a.subject}`;
    if ((a.state === 'raised') === this.#active.has(key)) return; // already in that state
    if (a.state === 'raised') {
      this.#active.set(key, alarm);
      this.o.metrics.alarm(a.kind);
      this.o.log.warn({ alarm }, `alarm raised: ${a.message}`);
    } else {
      this.#active.delete(key);
      this.o.log.info({ alarm }, `alarm cleared: ${a.message}`);
    }
    this.o.audit?.({ kind: 'alarm', alarm });
    for (const fn of this.#listeners) fn(alarm);
  };

  onAlarm(fn: (a: Alarm) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Alarms currently raised. */
  active(): Alarm[] {
    return [...this.#active.values()];
  }
}
