// 1-③ / 1-④: the register system sends a new version of an identity record; the CS stores it and
// queues identity.notify for the prefecture in ONE unit of work (store + outbox + ack + reply + audit).
// Notifications are partitioned by 住民票コード, so the prefecture gets each person's changes in order.
import { prefectureCodeOf } from '../../../domain/identifiers.js';
import type { FlowHandler, RequestContext } from '../../local/types.js';
import type { UnitOfWork } from '../../../platform/store/unitOfWork.js';
import { IdentityStoreError } from '../identityStore.js';
import type { IdentityChange, IdentityRecord } from '../identityStoreTypes.js';
import {
  abandonQueued,
  bodyOf,
  commitQueued,
  notifyOutboxAfter,
  notServed,
  refuse,
  upstreamEnvelope,
  whoOf,
  type CsFlowDeps,
} from './shared.js';

/** Applies a change and queues its identity.notify in `uow`; throws IdentityStoreError on a refused change. */
export async function storeAndNotify(
  deps: CsFlowDeps,
  uow: UnitOfWork,
  change: IdentityChange,
  ctx?: RequestContext,
): Promise<{ record: IdentityRecord; messageId: string }> {
  const { record, previous } = await deps.store.apply(uow.batch, change);
  // The 個人番号 given up is read by a later request claiming it: that one waits for this write.
  if (previous) ctx?.claim?.([`mn:${previous.myNumber}`]);
  const notify = upstreamEnvelope(`lg:${record.lgCode}`, `pref:${prefectureCodeOf(record.lgCode)}`, 'identity.notify', { record });
  deps.uplink.outbox.enqueue(uow.batch, notify, { partitionKey: record.residentCode });
  notifyOutboxAfter(deps, uow);
  return { record, messageId: notify.id };
}

export function identityUpdate(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const { record: input } = bodyOf(deps, req, 'identity.update');
    const wrong = notServed(deps, input.lgCode, 'body.record.lgCode');
    if (wrong)
      return refuse(deps, req, ctx, 'invalid_request', 'the record belongs to a municipality this installation does not serve', wrong);
    const { updateSeq: _ignored, ...change } = input;
    const uow = ctx.begin();
    try {
      const { record, messageId } = await storeAndNotify(deps, uow, change, ctx);
      ctx.reply(uow, { residentCode: record.residentCode, updateSeq: record.updateSeq, messageId });
      await deps.audit.record(uow, {
        ...whoOf(req),
        action: 'identity.update',
        outcome: 'ok',
        keys: [deps.audit.key('rc', record.residentCode)],
        detail: `updateSeq ${record.updateSeq}`,
      });
      await commitQueued(deps, uow);
    } catch (e) {
      await abandonQueued(deps, uow);
      if (!(e instanceof IdentityStoreError)) throw e;
      const details = e.details.map((d) => ({ ...d, path: `body.record.${d.path}` }));
      return refuse(deps, req, ctx, e.code, e.message, details);
    }
  };
}
