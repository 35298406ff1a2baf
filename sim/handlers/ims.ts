// 中間サーバー (simulated): addressee and secondary-copy (副本) updates, processing serial numbers via
// the NWS, information queries relayed through the NWS, and delivered codes (符号), which stay here.
import type { SimHandler } from '../node.js';
import { relayedError } from './common.js';

export function imsHandlers(): Record<string, SimHandler> {
  const codes = new Map<string, string>();
  const copies = new Map<string, Record<string, unknown>>();
  const viaNws: SimHandler = async (env, ctx) => {
    const r = await ctx.request('nws', env.type, env.body);
    if (r.type === 'error') throw relayedError(r, 'nws refused');
    return r.body;
  };
  return {
    'addressee.update': async (env) => {
      copies.set(String(env.body.addresseeNo), env.body);
      return { accepted: true };
    },
    'copy.update': async (env) => {
      copies.set(`${String(env.body.addresseeNo)}|${String(env.body.infoType)}`, env.body);
      return { accepted: true };
    },
    'serial.request': viaNws,
    'info.query': async (env, ctx) => {
      if (env.from !== 'nws') return viaNws(env, ctx);
      // Asked by the NWS on behalf of another body: answer from our secondary copies.
      const c = copies.get(`${String(env.body.addresseeNo)}|${String(env.body.infoType)}`);
      return c ? { found: true, data: c.data ?? {} } : { found: false };
    },
    'code.deliver': async (env) => {
      codes.set(String(env.body.serialNo), String(env.body.code));
      return { accepted: true };
    },
  };
}
