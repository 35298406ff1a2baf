// Look-up alarms (大量照会の検知): bulk or repeated searches by one operator or one terminal above
// configured thresholds. Sliding windows in memory; an alarm is logged once when raised, counted in
// metrics, and listed for the UI until acknowledged or quiet for `holdSeconds`.
import type { Registry } from 'prom-client';
import type { Logger } from '../../platform/log/logger.js';
import type { AuditEvent } from './event.js';
import { auditMetrics } from './metrics.js';

export interface LookupAlertConfig {
  /** Message types that count as look-ups. */
  actions: string[];
  searchesPerMinute: number;
  searchesPerHour: number;
  hitsPerHour: number;
  /** One search returning more than this many hits is a bulk search. */
  hitsPerSearch: number;
  /** An alarm stays active this long after the last exceeding look-up, unless acknowledged. */
  holdSeconds: number;
}

export type LookupAlarmRule = 'searches_per_minute' | 'searches_per_hour' | 'hits_per_hour' | 'bulk_search';
export type LookupScope = 'operator' | 'terminal';

export interface LookupAlarm {
  id: string;
  scope: LookupScope;
  /** Operator ID or terminal ID (never a resident's data). */
  subject: string;
  rule: LookupAlarmRule;
  /** Observed value when last exceeded, and the threshold. */
  value: number;
  threshold: number;
  raisedAt: string;
  lastAt: string;
  /** Look-ups that exceeded the threshold while the alarm was active. */
  occurrences: number;
}

export interface LookupObservation {
  operatorId?: string | undefined;
  terminalId?: string | undefined;
  hits?: number | undefined;
  at?: number | undefined;
}

export interface LookupAlerts {
  /** Counts one look-up; returns the alarms it newly raised. */
  record(o: LookupObservation): LookupAlarm[];
  /** record() for an audit event whose action is a look-up (operators only; systems are not people). */
  observe(event: AuditEvent): LookupAlarm[];
  activeAlarms(now?: number): LookupAlarm[];
  acknowledge(id: string, by: string): boolean;
}

interface Window {
  times: number[];
  hits: number[];
  start: number;
  hitSum: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

export function createLookupAlerts(opts: {
  config: LookupAlertConfig;
  logger?: Logger;
  registry?: Registry;
  now?: () => number;
}): LookupAlerts {
  const { config, logger } = opts;
  const now = opts.now ?? Date.now;
  const metrics = auditMetrics(opts.registry);
  const windows = new Map<string, Window>();
  const alarms = new Map<string, LookupAlarm>();
  const actions = new Set(config.actions);

  function slide(w: Window, t: number) {
    while (w.start < w.times.length && w.times[w.start]! <= t - HOUR) {
      w.hitSum -= w.hits[w.start]!;
      w.start++;
    }
    // Compact occasionally so the arrays do not grow without bound.
    if (w.start > 1024 && w.start * 2 > w.times.length) {
      w.times = w.times.slice(w.start);
      w.hits = w.hits.slice(w.start);
      w.start = 0;
    }
  }

  function countSince(w: Window, from: number): number {
    let lo = w.start,
      hi = w.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (w.times[mid]! > from) hi = mid;
      else lo = mid + 1;
    }
    return w.times.length - lo;
  }

  function refreshGauge() {
    const t = now();
    for (const scope of ['operator', 'terminal'] as const) {
      metrics.activeLookupAlarms.set({ scope }, activeAlarms(t).filter((a) => a.scope === scope).length);
    }
  }

  function exceed(
    scope: LookupScope,
    subject: string,
    rule: LookupAlarmRule,
    value: number,
    threshold: number,
    t: number,
  ): LookupAlarm | undefined {
    const id = `${scope}:${subject}:${rule}`;
    const at = new Date(t).toISOString();
    const existing = alarms.get(id);
    if (existing && Date.parse(existing.lastAt) + config.holdSeconds * 1000 > t) {
      existing.lastAt = at;
      existing.value = Math.max(existing.value, value);
      existing.occurrences++;
      return undefined;
    }
    const alarm: LookupAlarm = { id, scope, subject, rule, value, threshold, raisedAt: at, lastAt: at, occurrences: 1 };
    alarms.set(id, alarm);
    metrics.lookupAlarms.inc({ scope, rule });
    logger?.warn(
      { alarm: 'lookup', scope, subject, rule, value, threshold },
      `look-up alarm: ${scope} ${subject} ${rule} ${value} > ${threshold}`,
    );
    return alarm;
  }

  function one(scope: LookupScope, subject: string, hits: number, t: number): LookupAlarm[] {
    const key = `${scope}:${subject}`;
    let w = windows.get(key);
    if (!w) windows.set(key, (w = { times: [], hits: [], start: 0, hitSum: 0 }));
    slide(w, t);
    w.times.push(t);
    w.hits.push(hits);
    w.hitSum += hits;
    const raised: LookupAlarm[] = [];
    const check = (rule: LookupAlarmRule, value: number, threshold: number) => {
      if (value > threshold) {
        const a = exceed(scope, subject, rule, value, threshold, t);
        if (a) raised.push(a);
      }
    };
    check('bulk_search', hits, config.hitsPerSearch);
    check('searches_per_minute', countSince(w, t - MINUTE), config.searchesPerMinute);
    check('searches_per_hour', w.times.length - w.start, config.searchesPerHour);
    check('hits_per_hour', w.hitSum, config.hitsPerHour);
    return raised;
  }

  function record(o: LookupObservation): LookupAlarm[] {
    const t = o.at ?? now();
    const hits = Math.max(0, o.hits ?? 0);
    const raised = [
      ...(o.operatorId ? one('operator', o.operatorId, hits, t) : []),
      ...(o.terminalId ? one('terminal', o.terminalId, hits, t) : []),
    ];
    // Forget idle subjects so memory follows active users, not everyone ever seen.
    if (windows.size > 10_000) for (const [k, w] of windows) if ((w.times[w.times.length - 1] ?? 0) <= t - HOUR) windows.delete(k);
    if (raised.length) refreshGauge();
    return raised;
  }

  function activeAlarms(t = now()): LookupAlarm[] {
    for (const [id, a] of alarms) if (Date.parse(a.lastAt) + config.holdSeconds * 1000 <= t) alarms.delete(id);
    return [...alarms.values()].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt)).map((a) => ({ ...a }));
  }

  return {
    record,
    observe(event) {
      if (!actions.has(event.action)) return [];
      const operatorId = event.actor.kind === 'operator' ? event.actor.id : undefined;
      if (!operatorId && !event.terminalId) return [];
      // Commit time, not event.at: the windows need arrival order.
      return record({ operatorId, terminalId: event.terminalId, hits: event.hitCount ?? 0 });
    },
    activeAlarms,
    acknowledge(id, by) {
      const a = alarms.get(id);
      if (!a) return false;
      alarms.delete(id);
      logger?.info({ alarm: 'lookup', id, by }, 'look-up alarm acknowledged');
      refreshGauge();
      return true;
    },
  };
}
