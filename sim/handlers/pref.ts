// 都道府県サーバ (simulated): stores the identity notifications of its municipalities, searches them.
import type { SimDirectory, SimPerson } from '../directory.js';
import type { SimHandler } from '../node.js';
import { searchHits } from './common.js';

export function prefHandlers(dir: SimDirectory, prefCode: string): Record<string, SimHandler> {
  return {
    'identity.notify': async (env) => {
      dir.put(env.body.record as SimPerson);
      return { accepted: true };
    },
    'identity.search': async (env) => searchHits(dir, env.body, 'pref', prefCode.slice(0, 2)),
  };
}
