// 全国サーバ (simulated, J-LIS): identity verification, inquiries, nationwide search, code requests
// (passed to the NWS, which delivers the code to the municipality's intermediate server, never to the CS).
import type { SimDirectory, SimPerson } from '../directory.js';
import { SimError, type SimHandler } from '../node.js';
import { findPerson, recordOf, searchHits, verifyAgainst } from './common.js';

export function nationalHandlers(dir: SimDirectory): Record<string, SimHandler> {
  return {
    'identity.notify': async (env) => {
      dir.put(env.body.record as SimPerson);
      return { accepted: true };
    },
    'identity.verify': async (env) => {
      const p = findPerson(dir, env.body);
      const status = verifyAgainst(p, env.body);
      return status === 'notFound' || !p ? { status } : { status, record: recordOf(p) };
    },
    'jlis.inquiry': async (env) => {
      const p = findPerson(dir, env.body);
      return { records: p ? [recordOf(p)] : [] };
    },
    'identity.search': async (env) => searchHits(dir, env.body, 'national'),
    'code.request': async (env, ctx) => {
      // The CS sends the 住民票コード it resolved (2-⑦); J-LIS knows the person by it or refuses.
      // The 個人番号 form is passed on as given (direct simulator tests).
      let person: Record<string, unknown> = { myNumber: env.body.myNumber };
      if (env.body.residentCode !== undefined) {
        const p = dir.byResidentCode(String(env.body.residentCode));
        if (!p)
          throw new SimError('not_found', 'no person with this 住民票コード', [
            { path: 'body.residentCode', problem: 'person.unknown: J-LIS holds no person with this 住民票コード' },
          ]);
        person = { residentCode: p.residentCode };
      }
      await ctx.send('nws', 'code.request', { lgCode: env.body.lgCode, serialNo: env.body.serialNo, ...person });
      return { accepted: true };
    },
  };
}
