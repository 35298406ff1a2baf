// 3-⑤ 転入通知: the register system's move-in notice goes to the old municipality (lg:{old}) and, in
// the SAME unit of work, the new identity record is stored and identity.notify queued for the
// prefecture. Both outbound messages are partitioned by 住民票コード (per-person order). When we serve
// the old municipality too, the notice goes straight to our register system.
// Other side (inbound from lg:{new}): pushed to our register system (to/{id}/movein.notice) and the
// certificate it used is released, atomically with the inbox's dedupe mark.
import { errorReply, resultReply, type Envelope } from '../../../platform/envelope.js';
import type { FlowHandler } from '../../local/types.js';
import { parseRequest } from '../../messages/index.js';
import type { FlowHandler as UpstreamHandler } from '../../uplink/index.js';
import { IdentityStoreError } from '../identityStore.js';
import { storeAndNotify } from './identityUpdate.js';
import {
  abandonQueued,
  bodyOf,
  commitQueued,
  notifyOutboxAfter,
  notServed,
  pushEnvelope,
  refuse,
  registerSystems,
  scopeOfBatch,
  served,
  upstreamEnvelope,
  whoOf,
  type CsFlowDeps,
} from './shared.js';

export function moveinNotice(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const body = bodyOf(deps, req, 'movein.notice');
    const wrong =
      notServed(deps, body.newLgCode, 'body.newLgCode') ??
      (body.record ? notServed(deps, body.record.lgCode, 'body.record.lgCode') : undefined);
    if (wrong) return refuse(deps, req, ctx, 'invalid_request', 'the move-in must be into a municipality this installation serves', wrong);
    const { record: input, ...notice } = body;
    const from = `lg:${body.newLgCode}`;
    const uow = ctx.begin();
    try {
      let updateSeq: number | undefined;
      let notifyId: string | undefined;
      if (input) {
        const { updateSeq: _ignored, ...change } = input;
        const stored = await storeAndNotify(deps, uow, change);
        updateSeq = stored.record.updateSeq;
        notifyId = stored.messageId;
      }
      let noticeId: string;
      if (served(deps).includes(body.oldLgCode)) {
        // A move between two municipalities (wards) of this installation: the old side is us.
        const ids = registerSystems(deps).map((id) => {
          const push = pushEnvelope(`lg:${body.oldLgCode}`, id, 'movein.notice', notice);
          deps.localOutbox.push(uow, id, push);
          return push.id;
        });
        noticeId = ids[0] ?? '';
        const held = body.certificateId ? await deps.moveouts.get(body.oldLgCode, body.certificateId) : undefined;
        if (held) deps.moveouts.release(uow.batch, held);
      } else {
        // Minimum data to the old municipality: the notice without the new identity record.
        const out = upstreamEnvelope(from, `lg:${body.oldLgCode}`, 'movein.notice', notice);
        deps.uplink.outbox.enqueue(uow.batch, out, { partitionKey: body.residentCode });
        notifyOutboxAfter(deps, uow);
        noticeId = out.id;
      }
      ctx.reply(uow, { accepted: true, ...(updateSeq !== undefined ? { updateSeq } : {}) });
      await deps.audit.record(uow, {
        ...whoOf(req),
        action: 'movein.notice',
        outcome: 'ok',
        keys: [deps.audit.key('rc', body.residentCode)],
        detail: `notice ${noticeId}${notifyId ? ` notify ${notifyId}` : ''}`,
      });
      await commitQueued(deps, uow);
    } catch (e) {
      await abandonQueued(deps, uow);
      if (!(e instanceof IdentityStoreError)) throw e;
      return refuse(
        deps,
        req,
        ctx,
        e.code,
        e.message,
        e.details.map((d) => ({ ...d, path: `body.record.${d.path}` })),
      );
    }
  };
}

/** Old side: the new municipality's CS tells us the person moved in there. */
export function moveinNoticeInbound(deps: CsFlowDeps): UpstreamHandler {
  return async (env, ctx): Promise<Envelope> => {
    const auditBase = { actor: { kind: 'system' as const, id: env.from }, action: 'movein.notice' };
    const parsed = parseRequest('movein.notice', env.body, deps.messages);
    const scope = scopeOfBatch(ctx.batch);
    const refused = async (code: 'invalid_request' | 'forbidden', message: string, details: Array<{ path: string; problem: string }>) => {
      await deps.audit.record(scope, { ...auditBase, outcome: 'refused', code, detail: message });
      return errorReply(env, env.to, code, message, details);
    };
    if (!parsed.ok) return refused(parsed.error.code as 'invalid_request', parsed.error.message, parsed.error.details);
    const n = parsed.value;
    if (env.to !== `lg:${n.oldLgCode}`)
      return refused('invalid_request', 'the notice is addressed to a municipality other than the one moved out of', [
        { path: 'body.oldLgCode', problem: `movein.misaddressed: sent to ${env.to}` },
      ]);
    if (env.from !== `lg:${n.newLgCode}`)
      return refused('forbidden', "only the new municipality's CS may send its move-in notice", [
        { path: 'from', problem: `movein.sender: expected lg:${n.newLgCode}` },
      ]);
    const { record: _minimum, ...notice } = n;
    for (const id of registerSystems(deps)) deps.localOutbox.push(scope, id, pushEnvelope(env.to, id, 'movein.notice', notice, env.id));
    const held = n.certificateId ? await deps.moveouts.get(n.oldLgCode, n.certificateId) : undefined;
    if (held) deps.moveouts.release(ctx.batch, held);
    await deps.audit.record(scope, {
      ...auditBase,
      outcome: 'ok',
      keys: [deps.audit.key('rc', n.residentCode)],
      detail: `pushed to ${registerSystems(deps).length} register system(s)`,
    });
    return resultReply(env, env.to, env.from, { accepted: true });
  };
}
