import { Counter, Gauge, type Registry } from 'prom-client';

function counter(registry: Registry | undefined, name: string, help: string, labelNames: string[] = []): Counter {
  const existing = registry?.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, labelNames, registers: registry ? [registry] : [] });
}

function gauge(registry: Registry | undefined, name: string, help: string, labelNames: string[] = []): Gauge {
  const existing = registry?.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({ name, help, labelNames, registers: registry ? [registry] : [] });
}

export function auditMetrics(registry: Registry | undefined) {
  return {
    entries: counter(registry, 'jukigw_audit_entries_total', 'Audit entries committed', ['outcome']),
    checkpoints: counter(registry, 'jukigw_audit_checkpoints_total', 'Signed audit checkpoints written'),
    checkpointFailures: counter(registry, 'jukigw_audit_checkpoint_failures_total', 'Audit checkpoints that could not be signed or stored'),
    unsigned: gauge(registry, 'jukigw_audit_unsigned_entries', 'Audit entries not yet covered by a signed checkpoint'),
    voids: counter(registry, 'jukigw_audit_void_entries_total', 'Audit entries whose batch was not committed (recorded then voided)'),
    lookupAlarms: counter(registry, 'jukigw_lookup_alarms_total', 'Look-up alarms raised (bulk or repeated searches)', ['scope', 'rule']),
    activeLookupAlarms: gauge(registry, 'jukigw_lookup_alarms_active', 'Look-up alarms currently active', ['scope']),
  };
}
export type AuditMetrics = ReturnType<typeof auditMetrics>;
