// Another municipality's CS (simulated): answers move-out certificate requests for people who moved
// out of it, and receives move-in notices (転入通知) for them.
import type { SimDirectory } from '../directory.js';
import { SimError, type SimHandler } from '../node.js';
import { requireString } from './common.js';

export function lgHandlers(dir: SimDirectory): Record<string, SimHandler> {
  const movedIn = new Set<string>();
  return {
    'moveout.cert.request': async (env) => {
      const p = dir.byResidentCode(requireString(env.body, 'residentCode'));
      if (!p) throw new SimError('not_found', 'no move-out certificate for this person');
      return { certificate: { ...p, moveOutDate: p.moveOutDate ?? new Date().toISOString().slice(0, 10) } };
    },
    'movein.notice': async (env) => {
      movedIn.add(requireString(env.body, 'residentCode'));
      return { accepted: true };
    },
  };
}
