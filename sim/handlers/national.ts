// 全国サーバ (simulated, J-LIS): identity verification, inquiries, nationwide search, code requests
// (passed to the NWS, which delivers the code to the municipality's intermediate server, never to the CS).
import type { SimDirectory } from '../directory.js';
import type { SimHandler } from '../node.js';
import { findPerson, requireString, searchHits } from './common.js';

export function nationalHandlers(dir: SimDirectory): Record<string, SimHandler> {
  return {
    'identity.notify': async (env) => {
      dir.put({ ...(env.body as Record<string, unknown>), residentCode: requireString(env.body, 'residentCode'), lgCode: env.from.slice(3) });
      return { accepted: true };
    },
    'identity.verify': async (env) => {
      const p = findPerson(dir, env.body);
      return p ? { matched: true, person: p } : { matched: false };
    },
    'jlis.inquiry': async (env) => {
      const p = findPerson(dir, env.body);
      return p ? { found: true, person: p } : { found: false };
    },
    'identity.search': async (env) => searchHits(dir, env.body),
    'code.request': async (env, ctx) => {
      requireString(env.body, 'serial');
      const target = `ims:${env.from.slice(3)}`;
      await ctx.send('nws', 'code.request', { serial: env.body.serial, target, residentCode: env.body.residentCode ?? null });
      return { accepted: true };
    },
  };
}
