// att 2-⑥⑦ 符号取得 (CS half): the GW has whitelisted the request; the CS resolves the 個人番号 to the
// 住民票コード from its own records, or asks J-LIS (jlis.inquiry by 個人番号) for someone not resident
// here, and only then sends the code request, naming the person by 住民票コード, to the national server. The caller gets the accept
// acknowledgement or an error; the code itself goes national → NWS → intermediate server, never here.
// 処理通番: refused when reused (its keyed hash is claimed in the acceptance batch); in clear it
// lives only in memory and in the request queue entry, which the acceptance deletes.
import { errorReply, type Envelope } from '../../../platform/envelope.js';
import { createInteractive, type Interactive } from '../../local/interactive.js';
import type { FlowHandler, RequestContext } from '../../local/types.js';
import type { SerialRegistry } from '../../gw/serials.js';
import { bodyOf, notServed, refuse, selfNode, upstreamEnvelope, whoOf, type CsFlowDeps } from './shared.js';

export interface CodeRequestDeps {
  serials: SerialRegistry;
  /** Called after an upstream acknowledgement (the GW compacts the stores that held the serial). */
  onAcknowledged?: () => void;
  /** Identity the appliance uses for its own J-LIS look-ups of non-residents. */
  lookupAs?: { dutyCode: string; operatorId: string; terminalId: string };
}

const NUMBER_LINKAGE_ROLE = 'number-linkage';
const UNKNOWN_PERSON = 'unknown person: no record for this 個人番号 here or at J-LIS; nothing was forwarded';

export function createCodeRequest(deps: CsFlowDeps, gw: CodeRequestDeps): { handler: FlowHandler; interactive: Interactive } {
  const lookupAs = gw.lookupAs ?? { dutyCode: 'GW-CODE', operatorId: 'juki-gw', terminalId: 'juki-gw' };
  // Upstream envelope id → the 個人番号 to resolve at J-LIS first (non-residents); memory only.
  const lookups = new Map<string, string>();
  const interactive: Interactive = createInteractive({
    db: deps.db,
    localOutbox: deps.localOutbox,
    logger: deps.logger,
    selfAddress: () => selfNode(deps),
    audit: (uow, e) => deps.audit.record(uow, e),
    requester: {
      async request(envelope: Envelope, opts) {
        const myNumber = lookups.get(envelope.id);
        lookups.delete(envelope.id);
        let out = envelope;
        if (myNumber !== undefined) {
          const q = upstreamEnvelope(envelope.from, 'national', 'jlis.inquiry', { by: 'myNumber', myNumber, ...lookupAs });
          const r = await deps.uplink.request(q, opts);
          if (r.type === 'error') return r;
          const records = Array.isArray(r.body.records) ? (r.body.records as Array<{ residentCode?: unknown }>) : [];
          const residentCode = records.length === 1 && typeof records[0]!.residentCode === 'string' ? records[0]!.residentCode : undefined;
          if (!residentCode) {
            return errorReply(envelope, 'national', 'not_found', UNKNOWN_PERSON, [
              { path: 'body.myNumber', problem: 'person.unknown: not found locally nor at J-LIS' },
            ]);
          }
          out = { ...envelope, body: { ...envelope.body, residentCode } };
        }
        const reply = await deps.uplink.request(out, opts);
        if (reply.type !== 'error') gw.onAcknowledged?.();
        return reply;
      },
    },
  });

  const handler: FlowHandler = async (req, ctx) => {
    if (req.role !== NUMBER_LINKAGE_ROLE) {
      return refuse(deps, req, ctx, 'forbidden', 'code.request comes from the number-linkage segment only', [
        { path: 'type', problem: 'segment.wrong: not a number-linkage system' },
      ]);
    }
    const body = bodyOf(deps, req, 'code.request');
    const bad = notServed(deps, body.lgCode, 'body.lgCode');
    if (bad) return refuse(deps, req, ctx, 'invalid_request', 'lgCode is not served here', bad);
    const myNumber = body.myNumber;
    if (myNumber === undefined) {
      // Only the 個人番号 form comes from the segment (the GW refuses a 住民票コード there as smuggled).
      return refuse(deps, req, ctx, 'invalid_request', 'code.request needs the 個人番号', [
        { path: 'body.myNumber', problem: 'code.person: the number-linkage server names the person by myNumber' },
      ]);
    }
    const serialKey = gw.serials.hash(body.serialNo);
    const personKey = deps.audit.key('mn', myNumber);
    if (await gw.serials.used(serialKey)) {
      const uow = ctx.begin();
      ctx.fail(uow, 'conflict', '処理通番 already used: a serial number is valid for one code request only', [
        { path: 'body.serialNo', problem: 'serialNo.reused: this 処理通番 was used before' },
      ]);
      await deps.audit.record(uow, {
        ...whoOf(req),
        action: 'code.request',
        outcome: 'refused',
        code: 'conflict',
        keys: [serialKey, personKey],
        detail: 'serialNo reused',
      });
      await uow.commit();
      return;
    }
    const person = await deps.store.byMyNumber(myNumber);
    const resident = person?.status === 'current' ? person : undefined;
    // Upstream the person is named by 住民票コード only; a non-resident's is filled in after J-LIS answered.
    const up = upstreamEnvelope(selfNode(deps, body.lgCode), 'national', 'code.request', {
      lgCode: body.lgCode,
      serialNo: body.serialNo,
      ...(resident ? { residentCode: resident.residentCode } : {}),
    });
    if (!resident) lookups.set(up.id, myNumber);
    const claiming: RequestContext = {
      ...ctx,
      begin: () => {
        const uow = ctx.begin();
        gw.serials.claim(uow.batch, serialKey);
        return uow;
      },
    };
    await interactive.forward(req, claiming, up, {
      mapResult: () => ({ accepted: true }),
      auditOf: () => ({ keys: [serialKey, personKey, ...(person ? [deps.audit.key('rc', person.residentCode)] : [])] }),
    });
  };
  return { handler, interactive };
}
