// 情報提供ネットワークシステム (simulated): issues processing serial numbers (処理通番), makes codes
// (符号) and delivers them to the intermediate server, routes information queries to the other body.
import { createHash, randomBytes } from 'node:crypto';
import { SimError, type SimHandler } from '../node.js';
import { relayedError } from './common.js';

export function nwsHandlers(): Record<string, SimHandler> {
  let serial = 0;
  return {
    'serial.request': async () => ({
      serialNo: `SN-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${String(++serial).padStart(6, '0')}${randomBytes(2).toString('hex')}`,
    }),
    'code.request': async (env, ctx) => {
      const lgCode = String(env.body.lgCode);
      const code = createHash('sha256')
        .update(`${lgCode}|${String(env.body.serialNo)}|${randomBytes(8).toString('hex')}`)
        .digest('base64url');
      await ctx.send(`ims:${lgCode}`, 'code.deliver', { lgCode, serialNo: env.body.serialNo, code });
      return { accepted: true };
    },
    'info.query': async (env, ctx) => {
      const m = /^ORG-(\d{6})$/.exec(String(env.body.targetOrg));
      if (!m)
        throw new SimError('invalid_request', 'targetOrg must be ORG-{6-digit code} of another body', [
          { path: 'body.targetOrg', problem: 'targetOrg.unknown: expected ORG-{6-digit code} of a body on the network' },
        ]);
      const r = await ctx.request(`ims:${m[1]}`, 'info.query', env.body);
      if (r.type === 'error') throw relayedError(r, 'the other body refused');
      return r.body;
    },
  };
}
