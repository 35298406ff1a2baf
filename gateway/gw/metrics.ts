import { Counter, type Registry } from 'prom-client';
import { GW_WHITELIST } from './whitelist.js';

/** Requests from the number-linkage segment by screen outcome; unknown types count as "other" (bounded labels). */
export function gwScreenCounter(registry: Registry | undefined): (outcome: 'passed' | 'refused' | 'stripped', type: string) => void {
  const name = 'jukigw_gw_screened_total';
  const c =
    (registry?.getSingleMetric(name) as Counter | undefined) ??
    new Counter({
      name,
      help: 'Requests from the number-linkage segment by GW screen outcome',
      labelNames: ['outcome', 'type'],
      registers: registry ? [registry] : [],
    });
  return (outcome, type) => c.inc({ outcome, type: type in GW_WHITELIST ? type : 'other' });
}
