// 全国サーバ (simulated, J-LIS): identity verification, inquiries, nationwide search, code requests
// (passed to the NWS, which delivers the code to the municipality's intermediate server, never to the CS).
import type { SimDirectory, SimPerson } from '../directory.js';
import type { SimHandler } from '../node.js';
import { findPerson, searchHits, verifyAgainst } from './common.js';

export function nationalHandlers(dir: SimDirectory): Record<string, SimHandler> {
  return {
    'identity.notify': async (env) => { dir.put(env.body.record as SimPerson); return { accepted: true }; },
    'identity.verify': async (env) => {
      const p = findPerson(dir, env.body);
      const status = verifyAgainst(p, env.body);
      return status === 'notFound' ? { status } : { status, record: p };
    },
    'jlis.inquiry': async (env) => {
      const p = findPerson(dir, env.body);
      return { records: p ? [p] : [] };
    },
    'identity.search': async (env) => searchHits(dir, env.body, 'national'),
    'code.request': async (env, ctx) => {
      await ctx.send('nws', 'code.request', { lgCode: env.body.lgCode, serialNo: env.body.serialNo, myNumber: env.body.myNumber });
      return { accepted: true };
    },
  };
}
