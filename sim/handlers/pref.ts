// 都道府県サーバ (simulated): stores the identity notifications of its municipalities, searches them,
// and, when given a consistency peer over its own copy of the population, answers consistency checks.
import type { SimDirectory, SimPerson } from '../directory.js';
import { SimError, type SimHandler } from '../node.js';
import { searchHits } from './common.js';

/** Answers one consistency.check phase (e.g. gateway/cs/consistency/peer.ts StoreConsistencyPeer.handle). */
export type SimConsistencyPeer = (request: never) => Promise<object>;

export function prefHandlers(dir: SimDirectory, prefCode: string, consistency?: SimConsistencyPeer): Record<string, SimHandler> {
  const handlers: Record<string, SimHandler> = {
    'identity.notify': async (env) => {
      dir.put(env.body.record as SimPerson);
      return { accepted: true };
    },
    'identity.search': async (env) => searchHits(dir, env.body, 'pref', prefCode.slice(0, 2)),
  };
  if (consistency) {
    handlers['consistency.check'] = async (env) => {
      try {
        // why: the peer parses the request body itself (a bad one is refused there); the sim passes it as received.
        return (await consistency(env.body as never)) as Record<string, unknown>;
      } catch (e) {
        throw new SimError((e as { code?: unknown }).code === 'not_found' ? 'not_found' : 'invalid_request', (e as Error).message, [
          { path: 'body', problem: `consistency.refused: ${(e as Error).message.slice(0, 200)}` },
        ]);
      }
    };
  }
  return handlers;
}
