// Relays of the municipal edge (attachment 1-③, 2-①…④, 3-③, 4-②…⑤) between the number-linkage
// server and the municipality's intermediate server (ims:{lgCode}). Updates are durable (outbox:
// signed, retried, correlated with their `.result`, dead-lettered after the limit); serial-number
// requests and information queries are interactive (answer or timeout error to the caller).
// Information queries and their answers are recorded as 情報提供等記録; a dead-lettered update is
// answered to its caller as an error (deadRelays.ts).
import { bodyOf, notifyOutboxAfter, notServed, refuse, selfNode, upstreamEnvelope, whoOf, type CsFlowDeps } from '../cs/flows/shared.js';
import type { Envelope, ErrorBody } from '../../platform/envelope.js';
import type { Interactive } from '../local/interactive.js';
import type { FlowHandler, LocalRequest, RequestContext } from '../local/types.js';
import type { ProvisionRecords } from '../provision/index.js';
import type { RelayCallers } from './deadRelays.js';
import { NUMBER_LINKAGE_ROLE } from './screen.js';

export interface RelayDeps {
  flow: CsFlowDeps;
  /** Interactive forwarder of serial-number requests and information queries. */
  interactive: Interactive;
  provision: ProvisionRecords;
  /** Remembers who asked for each durable relay, so a dead-lettered one reaches its caller (deadRelays.ts). */
  relayed: RelayCallers;
}

/** Defence in depth: relays serve the number-linkage segment only, whatever the role table says. */
async function segmentOnly(deps: CsFlowDeps, req: LocalRequest, ctx: RequestContext): Promise<boolean> {
  if (req.role === NUMBER_LINKAGE_ROLE) return true;
  await refuse(deps, req, ctx, 'forbidden', `${req.envelope.type} is relayed for the number-linkage segment only`, [
    { path: 'type', problem: 'segment.wrong: not a number-linkage system' },
  ]);
  return false;
}

function durableRelay(type: 'addressee.update' | 'copy.update', r: RelayDeps): FlowHandler {
  const deps = r.flow;
  return async (req, ctx) => {
    if (!(await segmentOnly(deps, req, ctx))) return;
    const body = bodyOf(deps, req, type);
    const bad = notServed(deps, body.lgCode, 'body.lgCode');
    if (bad) return refuse(deps, req, ctx, 'invalid_request', 'lgCode is not served here', bad);
    const uow = ctx.begin();
    const out = upstreamEnvelope(selfNode(deps, body.lgCode), `ims:${body.lgCode}`, type, body);
    // Per addressee in order (an update must not overtake the one before it).
    const seq = deps.uplink.outbox.enqueue(uow.batch, out, { partitionKey: `${type}:${body.lgCode}:${body.addresseeNo}` });
    const addresseeKey = deps.audit.key('addressee', `${body.lgCode}:${body.addresseeNo}`);
    r.relayed.remember(uow.batch, out.id, { systemId: req.systemId, requestId: req.envelope.id, type, addresseeKey, seq, at: Date.now() });
    notifyOutboxAfter(deps, uow);
    ctx.reply(uow, { accepted: true });
    await deps.audit.record(uow, { ...whoOf(req), action: type, outcome: 'ok', keys: [addresseeKey], detail: `relayed as ${out.id}` });
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
    const up = upstreamEnvelope(selfNode(deps, body.lgCode), `ims:${body.lgCode}`, 'serial.request', body);
    await r.interactive.forward(req, ctx, up, {
      auditOf: () => ({ keys: [deps.audit.key('addressee', `${body.lgCode}:${body.addresseeNo}`)] }),
    });
  };
}

function infoQuery(r: RelayDeps): FlowHandler {
  const deps = r.flow;
  return async (req, ctx) => {
    if (!(await segmentOnly(deps, req, ctx))) return;
    const body = bodyOf(deps, req, 'info.query');
    const bad = notServed(deps, body.lgCode, 'body.lgCode');
    if (bad) return refuse(deps, req, ctx, 'invalid_request', 'lgCode is not served here', bad);
    const up = upstreamEnvelope(selfNode(deps, body.lgCode), `ims:${body.lgCode}`, 'info.query', body);
    const addresseeKey = deps.audit.key('addressee', `${body.lgCode}:${body.addresseeNo}`);
    const base = {
      requestId: req.envelope.id,
      systemId: req.systemId,
      type: 'info.query',
      infoType: body.infoType,
      procedure: body.procedure,
      targetOrg: body.targetOrg,
      lgCode: body.lgCode,
      addresseeKey,
    };
    // The query record commits with the acceptance of the request (pending record, queue ack), the
    // answer record with the reply to the caller (and the pending record's removal): one batch each,
    // so no answer reaches the caller unrecorded. A crash before the answer's batch leaves the pending
    // record, which interrupted.ts closes at the next start.
    const recorded: RequestContext = {
      ...ctx,
      begin: () => {
        const uow = ctx.begin();
        r.provision.add(uow.batch, { ...base, kind: 'query', result: 'sent' });
        return uow;
      },
    };
    await r.interactive.forward(req, recorded, up, {
      auditOf: (reply) => ({ keys: [addresseeKey], hitCount: reply.body.found === true ? 1 : 0 }),
      onAnswer: (uow, reply) => r.provision.add(uow.batch, { ...base, kind: 'answer', result: answerResult(reply) }),
    });
  };
}

/** found | notFound | the error code that ended the query. */
export function answerResult(reply: Envelope): string {
  return reply.type === 'error' ? (reply.body as ErrorBody).code : reply.body.found === true ? 'found' : 'notFound';
}

export function relayHandlers(r: RelayDeps): Array<[string, FlowHandler]> {
  return [
    ['addressee.update', durableRelay('addressee.update', r)],
    ['copy.update', durableRelay('copy.update', r)],
    ['serial.request', serialRequest(r)],
    ['info.query', infoQuery(r)],
  ];
}
