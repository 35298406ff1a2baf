// What applying a new configuration touches in the running appliance: ACL, roles, systems and limits
// are applied live; a listener is restarted only when its own settings changed; the rest waits for
// a restart of the appliance (said plainly, never silently ignored).
import { isDeepStrictEqual } from 'node:util';
import type { ApplianceConfig } from './schema/index.js';
import type { ApplyPlan } from './versionTypes.js';

// Uplinks, trust anchors and upstreams are read when the links start, so they wait for a restart.
const LIVE_SECTIONS = new Set(['roles', 'systems', 'limits', 'log', 'checkResidentCodeDigit']);

export function applyPlan(prev: ApplianceConfig, next: ApplianceConfig): ApplyPlan {
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]) as Set<keyof ApplianceConfig>;
  const plan: ApplyPlan = { changed: [], live: [], restartListeners: [], restartRequired: [] };
  for (const k of keys) {
    if (isDeepStrictEqual(prev[k], next[k])) continue;
    plan.changed.push(k);
    if (k === 'listeners') {
      const before = new Map(prev.listeners.map((l) => [l.name, l]));
      const after = new Map(next.listeners.map((l) => [l.name, l]));
      for (const name of new Set([...before.keys(), ...after.keys()])) {
        if (!isDeepStrictEqual(before.get(name), after.get(name))) plan.restartListeners.push(name);
      }
    } else if (LIVE_SECTIONS.has(k)) plan.live.push(k);
    else plan.restartRequired.push(k);
  }
  return plan;
}
