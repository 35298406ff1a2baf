// 個人番号カード管理システム (simulated): accepts card life-cycle data.
import type { SimHandler } from '../node.js';

export function cardHandlers(): Record<string, SimHandler> {
  return {
    'card.continue': async () => ({ accepted: true }),
    'card.delivery': async (env) => ({ accepted: true, itemCount: (env.body.items as unknown[]).length }),
    'card.event': async () => ({ accepted: true }),
  };
}
