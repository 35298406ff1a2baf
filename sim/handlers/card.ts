// 個人番号カード管理システム (simulated): accepts card life-cycle data and returns a receipt number.
import type { SimHandler } from '../node.js';

export function cardHandlers(): Record<string, SimHandler> {
  let receipt = 0;
  const accept: SimHandler = async () => ({ accepted: true, receiptNo: `R${String(++receipt).padStart(10, '0')}` });
  return { 'card.continue': accept, 'card.delivery': accept, 'card.event': accept };
}
