// 都道府県サーバ (simulated): stores the identity notifications of its municipalities, searches them.
import type { SimDirectory } from '../directory.js';
import type { SimHandler } from '../node.js';
import { requireString, searchHits } from './common.js';

export function prefHandlers(dir: SimDirectory, prefCode: string): Record<string, SimHandler> {
  let updateSeq = 0;
  return {
    'identity.notify': async (env) => {
      const residentCode = requireString(env.body, 'residentCode');
      dir.put({ ...(env.body as Record<string, unknown>), residentCode, lgCode: env.from.slice(3) });
      return { accepted: true, prefectureSeq: ++updateSeq };
    },
    'identity.search': async (env) => searchHits(dir, env.body, prefCode.slice(0, 2)),
  };
}
