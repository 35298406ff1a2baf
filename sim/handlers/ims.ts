// 中間サーバー (simulated): addressee and secondary-copy updates, processing serial numbers via the NWS,
// information queries relayed through the NWS, and delivered codes (符号), which stay here.
import { SimError, type SimHandler } from '../node.js';
import { requireString } from './common.js';

export function imsHandlers(): Record<string, SimHandler> {
  const codes = new Map<string, string>();
  const copies = new Map<string, unknown>();
  const relay = (type: string): SimHandler => async (env, ctx) => {
    if (env.from === 'nws') return { answer: copies.get(String(env.body.addresseeNo ?? '')) ?? null, answeredBy: ctx.node };
    const r = await ctx.request('nws', type, env.body);
    if (r.type === 'error') throw new SimError((r.body.code as never) ?? 'internal', String(r.body.message ?? 'nws refused'));
    return r.body;
  };
  return {
    'addressee.update': async (env) => { copies.set(requireString(env.body, 'addresseeNo'), env.body); return { accepted: true }; },
    'copy.update': async (env) => { copies.set(requireString(env.body, 'addresseeNo'), env.body); return { accepted: true }; },
    'serial.request': relay('serial.request'),
    'info.query': relay('info.query'),
    'code.deliver': async (env) => { codes.set(requireString(env.body, 'serial'), requireString(env.body, 'code')); return { accepted: true }; },
  };
}
