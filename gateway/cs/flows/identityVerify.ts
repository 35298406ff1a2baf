// 2-②③④ 本人確認: the terminal's verification (by 住民票コード or by the 4 items) goes to the national
// server; its answer comes back to the terminal. Interactive: a durable pending record covers restarts.
import type { FlowHandler } from '../../local/types.js';
import { bodyOf, returnedKeys, selfNode, upstreamEnvelope, type CsFlowDeps } from './shared.js';

export function identityVerify(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'identity.verify');
    const keys = body.by === 'residentCode' ? [deps.audit.key('rc', body.residentCode)] : [deps.audit.key('name', body.name)];
    const upstream = upstreamEnvelope(selfNode(deps), 'national', 'identity.verify', body);
    await deps.interactive.forward(req, ctx, upstream, {
      auditOf: (reply) => ({
        keys: [...keys, ...returnedKeys(deps, reply.body.record ? [reply.body.record] : [])],
        hitCount: reply.body.status === 'notFound' ? 0 : 1,
      }),
    });
  };
}
