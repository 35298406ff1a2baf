// Composition of the CS role (市町村CS): one handler per flow module (gateway/cs/flows), the intake
// of local requests, the local outbox (replies and pushes), the interactive forwarder, and the
// handlers of inbound upstream messages. Pushes (to/{id}/moveout.cert, to/{id}/movein.notice) go to
// every enabled local system whose role is resident-register (see flows/shared.ts registerSystems).
import type { Registry } from 'prom-client';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { BrokerHandle } from '../../broker/server.js';
import { AuditEventError, type AuditEventInput, type AuditLog } from '../audit/index.js';
import { HASHED_KEY, type KeyHasher } from '../crypto/index.js';
import { createKeptAnswers, type KeptAnswers } from '../local/answers.js';
import { createIntake, type Intake } from '../local/intake.js';
import { createInteractive, type Interactive } from '../local/interactive.js';
import { createLocalOutbox, type LocalOutbox } from '../local/localOutbox.js';
import type { AuditEvent, AuditSink, FlowHandler } from '../local/types.js';
import type { Logger } from '../../platform/log/logger.js';
import { createMessageRegistry, validateBody, type MessageRegistry } from '../messages/index.js';
import type { Db } from '../../platform/store/db.js';
import type { Uplink } from '../uplink/index.js';
import { IdentityStore } from './identityStore.js';
import type { ValueCodec } from './identityStoreTypes.js';
import { MoveOutCertificates } from './moveoutCertificates.js';
import type { CheckerOptions } from './consistency/session.js';
import { cardContinue } from './flows/cardContinue.js';
import { cardDelivery } from './flows/cardDelivery.js';
import { cardEvent } from './flows/cardEvent.js';
import { consistencyResultInbound, consistencyRuns, type ConsistencyRuns } from './flows/consistencyCheck.js';
import { identitySearch } from './flows/identitySearch.js';
import { identityUpdate } from './flows/identityUpdate.js';
import { GROUP_KEYS, residentCodesOf } from './flows/groupKeys.js';
import { identityVerify } from './flows/identityVerify.js';
import { jlisInquiry } from './flows/jlisInquiry.js';
import { moveinNotice, moveinNoticeInbound } from './flows/moveinNotice.js';
import { moveoutCertRequest, moveoutCertRequestInbound } from './flows/moveoutCertRequest.js';
import { moveoutCertStore } from './flows/moveoutCertStore.js';
import type { CsAuditor, CsFlowDeps } from './flows/shared.js';

export interface CsRoleDeps {
  config: ApplianceConfig;
  /** The running configuration when it is applied live (systems, roles): read per request. Default: `config`. */
  currentConfig?: () => ApplianceConfig;
  db: Db;
  logger: Logger;
  /** Metrics registry (prom-client); unused so far, accepted for the composition's uniformity. */
  registry?: Registry;
  broker: BrokerHandle;
  uplink: Uplink;
  /** The audit trail (its look-up alarms observe every committed entry) and the blind-index hasher for `keys`. */
  audit: { log: AuditLog; hashKey: KeyHasher };
  identityStore?: IdentityStore;
  /** Encryption at rest: value encodings for the sublevels holding personal data. */
  encodings?: { identity?: ValueCodec; local?: string | object; moveout?: string | object; answers?: string | object };
  /** Message schemas; default built from the config (住民票コード check switch). */
  messages?: MessageRegistry;
  /** GW role hook (gateway/gw/role.ts attach): adds its handlers, screens the request source. */
  gateway?: (cs: {
    flow: CsFlowDeps;
    handlers: Map<string, FlowHandler>;
    source: Parameters<typeof createIntake>[0]['source'];
  }) => Parameters<typeof createIntake>[0]['source'];
  /** Consistency engine tuning (bucket digests per committed step, full-transfer page size, phase timeout). */
  consistency?: CheckerOptions & { timeoutMs?: number };
}

export interface CsRole {
  intake: Intake;
  interactive: Interactive;
  localOutbox: LocalOutbox;
  /** Replies kept for resends, within trust.dedupeWindowSeconds. */
  answers: KeptAnswers;
  store: IdentityStore;
  moveouts: MoveOutCertificates;
  consistency: ConsistencyRuns;
  handlers: ReadonlyMap<string, FlowHandler>;
  /** Resolves when every request taken so far is answered and every reply handed to the broker. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const ACTION = /^[a-z][a-zA-Z0-9]*([._-][a-zA-Z0-9]+)*$/;

function auditInput(e: AuditEvent): AuditEventInput {
  const detail: Record<string, string> = {};
  if (e.detail) detail.message = e.detail.slice(0, 512);
  // The operator is the person accountable; the system it used is kept beside.
  if (e.operatorId) detail.system = e.actor.id.slice(0, 512);
  return {
    actor: e.operatorId
      ? { kind: 'operator', id: e.operatorId.slice(0, 128) }
      : { kind: e.actor.kind, id: e.actor.id.slice(0, 128) || 'unknown' },
    action: ACTION.test(e.action) ? e.action : 'local.invalid',
    outcome: e.outcome,
    ...(e.code ? { code: e.code.slice(0, 64) } : {}),
    ...(e.terminalId ? { terminalId: e.terminalId.slice(0, 128) } : {}),
    ...(e.dutyCode ? { dutyCode: e.dutyCode.slice(0, 32) } : {}),
    keys: (e.keys ?? []).filter((k) => HASHED_KEY.test(k)),
    ...(e.hitCount !== undefined ? { hitCount: e.hitCount } : {}),
    ...(Object.keys(detail).length ? { detail } : {}),
  };
}

function createAuditor(log: AuditLog, hashKey: KeyHasher, logger: Logger): CsAuditor {
  return {
    key: (kind, value) => hashKey(kind, value),
    async record(scope, event) {
      const input = auditInput(event);
      try {
        if (scope) log.appendToBatch(scope.batch, input);
        else await log.append(input);
      } catch (e) {
        if (!(e instanceof AuditEventError)) throw e;
        // A malformed event must not lose the fact that something happened.
        logger.error({ err: e.message, action: input.action }, 'audit event rejected; recording a minimal one');
        const minimal: AuditEventInput = {
          actor: input.actor,
          action: input.action,
          outcome: input.outcome,
          ...(input.code ? { code: input.code } : {}),
        };
        if (scope) log.appendToBatch(scope.batch, minimal);
        else await log.append(minimal);
      }
    },
  };
}

export async function startCsRole(deps: CsRoleDeps): Promise<CsRole> {
  const { config, db, broker, uplink } = deps;
  const logger = deps.logger.child({ component: 'cs' });
  const configNow = deps.currentConfig ?? (() => config);
  // checkResidentCodeDigit is applied live: the schemas follow the running configuration per message.
  const registries = new Map<boolean, MessageRegistry>();
  const messagesNow = (): MessageRegistry => {
    if (deps.messages) return deps.messages;
    const check = configNow().checkResidentCodeDigit;
    let r = registries.get(check);
    if (!r) registries.set(check, (r = createMessageRegistry({ checkResidentCodeDigit: check })));
    return r;
  };
  const store = deps.identityStore ?? (await IdentityStore.open(db, deps.encodings?.identity ? { codec: deps.encodings.identity } : {}));
  const selfAddress = () => `lg:${config.municipalities[0]}`;
  const answers = createKeptAnswers({
    db,
    windowMs: () => configNow().trust.dedupeWindowSeconds * 1000,
    ...(deps.encodings?.answers ? { valueEncoding: deps.encodings.answers } : {}),
  });
  let admitting: Promise<unknown> = Promise.resolve();
  const localOutbox = await createLocalOutbox({
    db,
    logger,
    answers,
    ...(deps.encodings?.local ? { valueEncoding: deps.encodings.local } : {}),
    publish: (topic, payload) => {
      // In-process publishes bypass authorizePublish: the offline-queue bound is checked here. The
      // local outbox hands over many replies at once: they are admitted and given to aedes one after
      // the other in call order (so each system's replies keep theirs), and stored together.
      const admitted = admitting.then(() => broker.admitOffline(topic, 1));
      admitting = admitted.then(
        () => undefined,
        () => undefined,
      );
      return admitted.then(
        (admit) =>
          new Promise<void>((resolve, reject) => {
            if (!admit.ok) throw new Error(admit.reason);
            broker.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err) =>
              err ? reject(err) : resolve(),
            );
          }),
      );
    },
  });
  const auditor = createAuditor(deps.audit.log, deps.audit.hashKey, logger);
  const auditSink: AuditSink = (uow, event) => auditor.record(uow, event);
  const interactive = createInteractive({ db, requester: uplink, localOutbox, audit: auditSink, logger, selfAddress });
  const moveouts = new MoveOutCertificates(db, deps.encodings?.moveout);
  const flow: CsFlowDeps = {
    config: configNow,
    db,
    logger,
    get messages() {
      return messagesNow();
    },
    store,
    uplink,
    interactive,
    localOutbox,
    moveouts,
    audit: auditor,
  };

  const handlers = new Map<string, FlowHandler>([
    ['identity.update', identityUpdate(flow)],
    ['identity.verify', identityVerify(flow)],
    ['moveout.cert.store', moveoutCertStore(flow)],
    ['moveout.cert.request', moveoutCertRequest(flow)],
    ['movein.notice', moveinNotice(flow)],
    ['card.continue', cardContinue(flow)],
    ['identity.search', identitySearch(flow)],
    ['jlis.inquiry', jlisInquiry(flow)],
    ['card.delivery', cardDelivery(flow)],
    ['card.event', cardEvent(flow)],
  ]);
  uplink.on('moveout.cert.request', moveoutCertRequestInbound(flow));
  uplink.on('movein.notice', moveinNoticeInbound(flow));
  uplink.on('consistency.result', consistencyResultInbound(flow));
  const consistency = consistencyRuns(flow, deps.consistency);

  const intake = createIntake({
    db,
    source: deps.gateway?.({ flow, handlers, source: broker.persistence.level.requests }) ?? broker.persistence.level.requests,
    config: configNow,
    handlers,
    localOutbox,
    answers,
    audit: auditSink,
    logger,
    selfAddress,
    groupKeys: GROUP_KEYS,
    readAhead: (keys) => store.readAhead(residentCodesOf(keys)),
    validateBody: (type, body) => {
      const r = validateBody(type, body, messagesNow());
      return r.ok ? undefined : r.error;
    },
  });
  await interactive.recover();
  intake.start();
  const purge = setInterval(() => {
    moveouts.purgeExpired().then(
      (n) => {
        if (n) logger.info({ count: n }, 'expired move-out certificates discarded');
      },
      (e: Error) => logger.warn({ err: e.message }, 'move-out certificate purge failed'),
    );
    answers.expire().then(
      (n) => {
        if (n) logger.info({ count: n }, 'replies kept for resends past the dedupe window discarded');
      },
      (e: Error) => logger.warn({ err: e.message }, 'expiry of kept replies failed'),
    );
  }, 3600_000);
  purge.unref();

  return {
    intake,
    interactive,
    localOutbox,
    answers,
    store,
    moveouts,
    consistency,
    handlers,
    async idle() {
      await intake.idle();
      await interactive.settled();
      await localOutbox.drained();
    },
    async close() {
      clearInterval(purge);
      await intake.close();
      await intake.idle();
      await localOutbox.close();
    },
  };
}
