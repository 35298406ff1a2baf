// 7-①② 送付先情報: a batch of delivery addresses → card management system. The intake validates each
// item and refuses the whole batch with one detail per faulty record (body.items.{i}.{field}), so
// the register fixes and resends it; an accepted batch goes out as one durable message.
import type { FlowHandler } from '../../local/types.js';
import { bodyOf, commitQueued, notifyOutboxAfter, notServed, refuse, upstreamEnvelope, whoOf, type CsFlowDeps } from './shared.js';

export function cardDelivery(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'card.delivery');
    const wrong = notServed(deps, body.lgCode, 'body.lgCode');
    if (wrong) return refuse(deps, req, ctx, 'invalid_request', 'delivery data is sent by the CS of its municipality', wrong);
    const uow = ctx.begin();
    const out = upstreamEnvelope(`lg:${body.lgCode}`, 'card', 'card.delivery', body);
    deps.uplink.outbox.enqueue(uow.batch, out, { partitionKey: `card.delivery:${body.lgCode}` });
    notifyOutboxAfter(deps, uow);
    ctx.reply(uow, { accepted: true, messageId: out.id, itemCount: body.items.length });
    await deps.audit.record(uow, {
      ...whoOf(req),
      action: 'card.delivery',
      outcome: 'ok',
      hitCount: body.items.length,
      keys: body.items.map((it) => deps.audit.key('rc', it.residentCode)),
      detail: `batch ${body.batchId} queued ${out.id}`,
    });
    await commitQueued(deps, uow);
  };
}
