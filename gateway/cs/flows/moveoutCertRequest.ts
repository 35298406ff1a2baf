// 3-② / 3-③ / 3-④ 特例転入, new side: the terminal asks the old municipality's CS (lg:{old}) for the
// move-out certificate; the answer goes to the terminal and, in the same unit of work, is pushed to
// our register system (to/{id}/moveout.cert). When we serve the old municipality too (wards of one
// city), it is answered from our own held certificates.
// Old side (inbound from another CS): answered from the certificates the register system stored.
import { routeMoveOutCertRequest } from '../../../domain/routing.js';
import { errorReply, resultReply, type Envelope } from '../../../platform/envelope.js';
import type { FlowHandler } from '../../local/types.js';
import { parseRequest } from '../../messages/index.js';
import type { UnitOfWork } from '../../../platform/store/unitOfWork.js';
import type { FlowHandler as UpstreamHandler } from '../../uplink/index.js';
import { bodyOf, pushEnvelope, refuse, registerSystems, selfNode, served, upstreamEnvelope, whoOf, type CsFlowDeps } from './shared.js';

function pushToRegister(deps: CsFlowDeps, uow: UnitOfWork, from: string, certificate: Record<string, unknown>, requestId: string): void {
  for (const id of registerSystems(deps))
    deps.localOutbox.push(uow, id, pushEnvelope(from, id, 'moveout.cert', { certificate, requestId }));
}

export function moveoutCertRequest(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'moveout.cert.request');
    const route = routeMoveOutCertRequest({ oldLgCode: body.oldLgCode, oldAddress: body.oldAddress }, served(deps));
    const person = body.residentCode ? deps.audit.key('rc', body.residentCode) : deps.audit.key('mn', body.myNumber!);
    if (route.kind === 'unresolved') {
      return refuse(deps, req, ctx, 'invalid_request', 'cannot tell which municipality the person moved out of', [
        { path: body.oldLgCode ? 'body.oldLgCode' : 'body.oldAddress', problem: route.problem },
      ]);
    }
    if (route.kind === 'local') {
      const held = await deps.moveouts.find(route.lgCode, { residentCode: body.residentCode, myNumber: body.myNumber });
      if (!held)
        return refuse(deps, req, ctx, 'not_found', 'no move-out certificate is held for this person', [
          { path: body.residentCode ? 'body.residentCode' : 'body.myNumber', problem: 'certificate.notFound: none held or expired' },
        ]);
      const uow = ctx.begin();
      ctx.reply(uow, { certificate: held.certificate });
      pushToRegister(deps, uow, `lg:${route.lgCode}`, held.certificate, req.envelope.id);
      await deps.audit.record(uow, {
        ...whoOf(req),
        action: 'moveout.cert.request',
        outcome: 'ok',
        keys: [person],
        hitCount: 1,
        detail: 'answered locally',
      });
      await uow.commit();
      return;
    }
    const upstream = upstreamEnvelope(selfNode(deps), route.node, 'moveout.cert.request', body);
    await deps.interactive.forward(req, ctx, upstream, {
      auditOf: () => ({ keys: [person], hitCount: 1 }),
      onResult: (uow, reply) => {
        const certificate = (reply.body.certificate ?? {}) as Record<string, unknown>;
        pushToRegister(deps, uow, selfNode(deps), certificate, req.envelope.id);
      },
    });
  };
}

/** Old side: another CS asks for a certificate we hold (inbound upstream request). */
export function moveoutCertRequestInbound(deps: CsFlowDeps): UpstreamHandler {
  return async (env, ctx): Promise<Envelope> => {
    const code = env.to.slice(3);
    const auditBase = { actor: { kind: 'system' as const, id: env.from }, action: 'moveout.cert.request' };
    if (!env.from.startsWith('lg:')) {
      await deps.audit.record(
        { batch: ctx.batch },
        { ...auditBase, outcome: 'refused', code: 'forbidden', detail: "only a municipality's CS may ask for a move-out certificate" },
      );
      return errorReply(env, env.to, 'forbidden', "only a municipality's CS may ask for a move-out certificate", [
        { path: 'from', problem: 'moveout.sender: expected lg:{code}' },
      ]);
    }
    const parsed = parseRequest('moveout.cert.request', env.body, deps.messages);
    if (!parsed.ok) {
      await deps.audit.record(
        { batch: ctx.batch },
        { ...auditBase, outcome: 'refused', code: parsed.error.code, detail: parsed.error.message },
      );
      return errorReply(env, env.to, parsed.error.code, parsed.error.message, parsed.error.details);
    }
    const b = parsed.value;
    const held = await deps.moveouts.find(code, { residentCode: b.residentCode, myNumber: b.myNumber });
    const keys = [b.residentCode ? deps.audit.key('rc', b.residentCode) : deps.audit.key('mn', b.myNumber!)];
    if (!held) {
      await deps.audit.record(
        { batch: ctx.batch },
        { ...auditBase, outcome: 'refused', code: 'not_found', keys, detail: 'no certificate held' },
      );
      return errorReply(env, env.to, 'not_found', 'no move-out certificate is held for this person', [
        { path: 'body.residentCode', problem: 'certificate.notFound: none held or expired' },
      ]);
    }
    await deps.audit.record(
      { batch: ctx.batch },
      { ...auditBase, outcome: 'ok', keys, hitCount: 1, detail: `certificate ${held.certificate.certificateId}` },
    );
    return resultReply(env, env.to, env.from, { certificate: held.certificate });
  };
}
