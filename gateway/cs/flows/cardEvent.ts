// 8-① card life-cycle events (issue, suspend, lift suspension, revoke, collect, return) → card
// management system. Durable, in order per person (partition = 住民票コード).
import type { FlowHandler } from '../../local/types.js';
import { bodyOf, commitQueued, notifyOutboxAfter, selfNode, upstreamEnvelope, whoOf, type CsFlowDeps } from './shared.js';

export function cardEvent(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'card.event');
    const current = await deps.store.get(body.residentCode);
    const uow = ctx.begin();
    const out = upstreamEnvelope(selfNode(deps, current?.lgCode), 'card', 'card.event', body);
    deps.uplink.outbox.enqueue(uow.batch, out, { partitionKey: body.residentCode });
    notifyOutboxAfter(deps, uow);
    ctx.reply(uow, { accepted: true, messageId: out.id });
    await deps.audit.record(uow, {
      ...whoOf(req),
      action: 'card.event',
      outcome: 'ok',
      keys: [deps.audit.key('rc', body.residentCode)],
      detail: `${body.event} queued ${out.id}`,
    });
    await commitQueued(deps, uow);
  };
}
