// 3-⑥ 継続利用: after a special move-in, the card's continued use goes to the card management system.
// Durable: queued in the outbox with the acknowledgement (partitioned by 住民票コード).
import type { FlowHandler } from '../../local/types.js';
import { bodyOf, commitQueued, notifyOutboxAfter, notServed, refuse, upstreamEnvelope, whoOf, type CsFlowDeps } from './shared.js';

export function cardContinue(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'card.continue');
    const wrong = notServed(deps, body.newLgCode, 'body.newLgCode');
    if (wrong) return refuse(deps, req, ctx, 'invalid_request', 'continued use is requested by the CS of the new municipality', wrong);
    const uow = ctx.begin();
    const out = upstreamEnvelope(`lg:${body.newLgCode}`, 'card', 'card.continue', body);
    deps.uplink.outbox.enqueue(uow.batch, out, { partitionKey: body.residentCode });
    notifyOutboxAfter(deps, uow);
    ctx.reply(uow, { accepted: true, messageId: out.id });
    await deps.audit.record(uow, {
      ...whoOf(req),
      action: 'card.continue',
      outcome: 'ok',
      keys: [deps.audit.key('rc', body.residentCode)],
      detail: `queued ${out.id}`,
    });
    await commitQueued(deps, uow);
  };
}
