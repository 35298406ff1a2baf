// 情報提供ネットワークシステム (simulated): issues processing serial numbers, makes codes (符号) and
// delivers them to the intermediate server, routes information queries to the other body.
import { createHash, randomBytes } from 'node:crypto';
import { SimError, type SimHandler } from '../node.js';
import { requireString } from './common.js';

export function nwsHandlers(): Record<string, SimHandler> {
  return {
    'serial.request': async () => ({ serial: `S${randomBytes(12).toString('hex').toUpperCase()}` }),
    'code.request': async (env, ctx) => {
      const target = requireString(env.body, 'target');
      const serial = requireString(env.body, 'serial');
      const code = createHash('sha256').update(`${target}|${serial}`).digest('base64url').slice(0, 32);
      await ctx.send(target, 'code.deliver', { serial, code });
      return { accepted: true };
    },
    'info.query': async (env, ctx) => {
      const target = requireString(env.body, 'targetBody');
      if (!target.startsWith('ims:')) throw new SimError('invalid_request', 'targetBody must be an intermediate server (ims:{code})');
      const r = await ctx.request(target, 'info.query', env.body);
      if (r.type === 'error') throw new SimError((r.body.code as never) ?? 'internal', String(r.body.message ?? 'the other body refused'));
      return r.body;
    },
  };
}
