// Relays of the municipal edge (attachment 1-③, 2-①…④, 3-③, 4-②…⑤) between the number-linkage
// server and the municipality's intermediate server (ims:{lgCode}). Updates are durable (outbox:
// signed, retried, correlated with their `.result`, dead-lettered after the limit); serial-number
// requests and information queries are interactive (answer or timeout error to the caller).
// Information queries and their answers are recorded as 情報提供等記録.
import { bodyOf, notifyOutboxAfter, notServed, refuse, selfNode, upstreamEnvelope, whoOf, type CsFlowDeps } from '../cs/flows/shared.js';
import type { Envelope, ErrorBody } from '../envelope.js';
import type { Interactive } from '../local/interactive.js';
import type { FlowHandler, LocalRequest, RequestContext } from '../local/types.js';
import type { ProvisionRecords } from '../provision/index.js';
import { NUMBER_LINKAGE_ROLE } from './screen.js';

export interface RelayDeps {
  flow: CsFlowDeps;
  /** Interactive forwarder whose requester records the answers of information queries. */
  interactive: Interactive;
  provision: ProvisionRecords;
  /** Shared with recordingRequester: what the answer record of each query in flight needs. */
  queries: QueryLedger;
}

type QueryBase = Omit<Parameters<ProvisionRecords['add']>[1], 'kind' | 'result'>;
/** Upstream request id → the query's provision fields (memory only, while the query is out). */
export type QueryLedger = Map<string, QueryBase>;

/** Defence in depth: relays serve the number-linkage segment only, whatever the role table says. */
async function segmentOnly(deps: CsFlowDeps, req: LocalRequest, ctx: RequestContext): Promise<boolean> {
  if (req.role === NUMBER_LINKAGE_ROLE) return true;
  await refuse(deps, req, ctx, 'forbidden', `${req.envelope.type} is relayed for the number-linkage segment only`, [{ path: 'type', problem: 'segment.wrong: not a number-linkage system' }]);
  return false;
}

function durableRelay(type: 'addressee.update' | 'copy.update', deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    if (!(await segmentOnly(deps, req, ctx))) return;
    const body = bodyOf(deps, req, type);
    const bad = notServed(deps, body.lgCode, 'body.lgCode');
    if (bad) return refuse(deps, req, ctx, 'invalid_request', 'lgCode is not served here', bad);
    const uow = ctx.begin();
    const out = upstreamEnvelope(selfNode(deps, body.lgCode), `ims:${body.lgCode}`, type, body as Record<string, unknown>);
    // Per addressee in order (an update must not overtake the one before it).
    deps.uplink.outbox.enqueue(uow.batch, out, { partitionKey: `${type}:${body.lgCode}:${body.addresseeNo}` });
    notifyOutboxAfter(deps, uow);
    ctx.reply(uow, { accepted: true });
    await deps.audit.record(uow, { ...whoOf(req), action: type, outcome: 'ok', keys: [deps.audit.key('addressee', `${body.lgCode}:${body.addresseeNo}`)], detail: `relayed as ${out.id}` });
    await uow.commit();
  };
}

function serialRequest(r: RelayDeps): FlowHandler {
  const deps = r.flow;
  return async (req, ctx) => {
    if (!(await segmentOnly(deps, req, ctx))) return;
    const body = bodyOf(deps, req, 'serial.request');
    const bad = notServed(deps, body.lgCode, 'body.lgCode');
    if (bad) return refuse(deps, req, ctx, 'invalid_request', 'lgCode is not served here', bad);
    const up = upstreamEnvelope(selfNode(deps, body.lgCode), `ims:${body.lgCode}`, 'serial.request', body as Record<string, unknown>);
    await r.interactive.forward(req, ctx, up, { auditOf: () => ({ keys: [deps.audit.key('addressee', `${body.lgCode}:${body.addresseeNo}`)] }) });
  };
}

function infoQuery(r: RelayDeps): FlowHandler {
  const deps = r.flow;
  return async (req, ctx) => {
    if (!(await segmentOnly(deps, req, ctx))) return;
    const body = bodyOf(deps, req, 'info.query');
    const bad = notServed(deps, body.lgCode, 'body.lgCode');
    if (bad) return refuse(deps, req, ctx, 'invalid_request', 'lgCode is not served here', bad);
    const up = upstreamEnvelope(selfNode(deps, body.lgCode), `ims:${body.lgCode}`, 'info.query', body as Record<string, unknown>);
    const addresseeKey = deps.audit.key('addressee', `${body.lgCode}:${body.addresseeNo}`);
    const base = { requestId: req.envelope.id, systemId: req.systemId, type: 'info.query', infoType: body.infoType, procedure: body.procedure, targetOrg: body.targetOrg, lgCode: body.lgCode, addresseeKey };
    r.queries.set(up.id, base);
    // The query record commits with the acceptance of the request (pending record, queue ack).
    const recorded: RequestContext = { ...ctx, begin: () => { const uow = ctx.begin(); r.provision.add(uow.batch, { ...base, kind: 'query', result: 'sent' }); return uow; } };
    await r.interactive.forward(req, recorded, up, {
      auditOf: (reply) => ({ keys: [addresseeKey], hitCount: reply.body.found === true ? 1 : 0 }),
    });
  };
}

/** Wraps the uplink's request so that every information-query answer (or failure) is recorded. */
export function recordingRequester(deps: CsFlowDeps, provision: ProvisionRecords, queries: QueryLedger): { request(e: Envelope, o?: { timeoutMs?: number }): Promise<Envelope> } {
  return {
    async request(envelope, opts) {
      const reply = await deps.uplink.request(envelope, opts);
      const base = queries.get(envelope.id);
      if (base) {
        queries.delete(envelope.id);
        const result = reply.type === 'error' ? (reply.body as unknown as ErrorBody).code : reply.body.found === true ? 'found' : 'notFound';
        const batch = deps.db.batch();
        provision.add(batch, { ...base, kind: 'answer', result });
        await batch.write().catch((e: Error) => deps.logger.error({ err: e.message, id: envelope.id }, 'gw: provision record of an answer not written'));
      }
      return reply;
    },
  };
}

export function relayHandlers(r: RelayDeps): Array<[string, FlowHandler]> {
  return [
    ['addressee.update', durableRelay('addressee.update', r.flow)],
    ['copy.update', durableRelay('copy.update', r.flow)],
    ['serial.request', serialRequest(r)],
    ['info.query', infoQuery(r)],
  ];
}
