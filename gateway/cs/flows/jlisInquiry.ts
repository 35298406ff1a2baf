// 5-①② 機構への情報照会: by 個人番号 or the 4 items, terminal → CS → national → back. Needs a duty code
// (the schema requires it); every inquiry is audited with its hashed key and the number of records.
import type { FlowHandler } from '../../local/types.js';
import { bodyOf, returnedKeys, selfNode, upstreamEnvelope, type CsFlowDeps } from './shared.js';

export function jlisInquiry(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'jlis.inquiry');
    const keys = body.by === 'myNumber' ? [deps.audit.key('mn', body.myNumber)] : [deps.audit.key('name', body.name)];
    const upstream = upstreamEnvelope(selfNode(deps), 'national', 'jlis.inquiry', body);
    await deps.interactive.forward(req, ctx, upstream, {
      auditOf: (reply) => ({
        keys: [...keys, ...returnedKeys(deps, reply.body.records)],
        hitCount: Array.isArray(reply.body.records) ? reply.body.records.length : 0,
      }),
    });
  };
}
