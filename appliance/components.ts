// The gateway side of the appliance composition (appliance/start.ts runs these in order between the
// broker and the admin port): HSM signer, encryption at rest, audit trail, uplinks (to real upstream
// brokers, or to simulated ones when none are configured), the CS role and the admin web UI.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { openConfigVersions, type ConfigVersions } from '../config/versions.js';
import { startAdminUi } from '../admin-ui/server.js';
import { applianceServices } from '../admin-ui/adapters/index.js';
import { dataKeysFromKeyring } from '../admin-ui/adapters/dataKeys.js';
import { uplinkProbe } from '../admin-ui/adapters/uplink-probe.js';
import { onlineOperations } from '../admin-ui/adapters/operations.js';
import { createDevCa, loadDevCa } from '../hsm/dev-ca.js';
import { consistencyFromChecker } from '../admin-ui/adapters/consistency.js';
import { startCsRole } from '../gateway/cs/role.js';
import { startGwRole } from '../gateway/gw/role.js';
import { IdentityStore } from '../gateway/cs/identityStore.js';
import type { ApplianceContext } from './start.js';
import { createSigner, verifierFromConfig, levelDedupeStore, type TokenSigner } from '../hsm/index.js';
import type { Verifier } from '../hsm/types.js';
import { previousKeyOnToken } from '../hsm/previous-key.js';
import { openAudit, type AuditEventInput, type AuditLog, type LookupAlerts } from '../gateway/audit/index.js';
import { openEncryptionAtRest, type EncryptionAtRest } from '../gateway/crypto/index.js';
import { createUplink, type Uplink } from '../gateway/uplink/index.js';
import { describeLinkSigner, linkSigners } from '../gateway/uplink/linkSigners.js';
import { SUBLEVELS } from '../platform/store/db.js';
import { startSimulatedUpstream, SIMULATED_LABEL, type SimulatedUpstream } from './simulatedUpstream.js';

/** What the gateway components add to the shared context. */
export interface GatewayParts {
  signer?: TokenSigner;
  verifier?: Verifier;
  atRest?: EncryptionAtRest;
  auditLog?: AuditLog;
  lookupAlerts?: LookupAlerts;
  simulated?: SimulatedUpstream;
  uplink?: Uplink;
  versions?: ConfigVersions;
  extra: Record<string, unknown>;
}

export type GatewayContext = ApplianceContext & { gw: GatewayParts };
export interface GatewayComponent { name: string; start(ctx: GatewayContext): Promise<() => Promise<void>> }

export const hsmComponent: GatewayComponent = {
  name: 'hsm',
  async start(ctx) {
    const signer = await createSigner(ctx.config.hsm, { dataDir: ctx.config.dataDir, logger: ctx.logger.child({ component: 'hsm' }) });
    ctx.gw.signer = signer;
    ctx.checks.push({ name: 'token', run: async () => {
      const s = ctx.gw.signer!.status();
      return { ok: s.ready, detail: s.warning ? `${s.detail} (${s.warning})` : s.detail };
    } });
    return () => signer.close();
  },
};

export const atRestComponent: GatewayComponent = {
  name: 'crypto',
  async start(ctx) {
    const atRest = await openEncryptionAtRest({ hsm: ctx.config.hsm, dataDir: ctx.config.dataDir, db: ctx.db, logger: ctx.logger.child({ component: 'crypto' }) });
    ctx.gw.atRest = atRest;
    return () => atRest.close();
  },
};

export const auditComponent: GatewayComponent = {
  name: 'audit',
  async start(ctx) {
    const logger = ctx.logger.child({ component: 'audit' });
    // A new certificate or key since the last start: the outgoing key, still on the token, hands the log over.
    const previousKey = previousKeyOnToken(ctx.config.hsm, ctx.config.dataDir, ctx.gw.signer!, logger);
    const { log, lookupAlerts } = await openAudit({ config: ctx.config.audit, db: ctx.db, signer: ctx.gw.signer!, logger, registry: ctx.registry, previousKey });
    ctx.gw.auditLog = log;
    ctx.gw.lookupAlerts = lookupAlerts;
    // Broker refusals (denied topics, bad certificates, limits) go to the audit trail too.
    ctx.audit = (e) => {
      const event: AuditEventInput = e.kind === 'denial'
        ? { actor: { kind: 'system', id: (e.systemId ?? e.clientId ?? 'unknown').slice(0, 128) || 'unknown' }, action: 'broker.denial', outcome: 'refused', code: e.reason,
            detail: { detail: e.detail.slice(0, 512), listener: e.listener, remote: e.remote, topic: e.topic?.slice(0, 512) ?? null, systemId: e.systemId } }
        : { actor: { kind: 'appliance', id: 'broker' }, action: 'broker.alarm', outcome: 'error', code: e.alarm.kind, detail: { message: e.alarm.message.slice(0, 512) } };
      log.append(event).catch((err: unknown) => ctx.logger.error({ err: (err as Error).message }, 'audit append failed'));
    };
    return async () => { await log.close?.(); };
  },
};

export const uplinkComponent: GatewayComponent = {
  name: 'uplink',
  async start(ctx) {
    const cfg = ctx.config;
    let upstreams = cfg.upstreams;
    let signer = ctx.gw.signer!;
    let verifier: Verifier;
    if (upstreams.length === 0) {
      const sim = await startSimulatedUpstream({ dataDir: cfg.dataDir, served: cfg.municipalities, signer, logger: ctx.logger });
      ctx.gw.simulated = sim;
      upstreams = [sim.upstream];
      signer = sim.signer;
      verifier = sim.verifier;
      ctx.checks.push({ name: 'upstream', run: async () => ({ ok: true, detail: SIMULATED_LABEL }) });
    } else {
      const dedupe = levelDedupeStore(ctx.db.sublevel(SUBLEVELS.inbox + '-ids', { valueEncoding: 'json' }) as never);
      verifier = verifierFromConfig(cfg.trust, { dedupe, logger: ctx.logger.child({ component: 'verifier' }) });
    }
    ctx.gw.verifier = verifier;
    const outboxEncoding = ctx.gw.atRest?.keyring.valueEncoding('json');
    const uplink = await createUplink({
      config: { ...cfg, upstreams }, db: ctx.db, signer, verifier, logger: ctx.logger.child({ component: 'uplink' }), registry: ctx.registry,
      ...(outboxEncoding ? { valueEncodings: { outbox: outboxEncoding as never, inbox: outboxEncoding as never } } : {}),
      // Refused upstream messages: the verifier's reason is the audit code; no body is recorded.
      audit: (e) => ctx.gw.auditLog?.append({
        actor: { kind: 'appliance', id: 'inbox' }, action: 'upstream.refusal', outcome: 'refused', code: e.reason.slice(0, 64),
        detail: { link: e.link, topic: e.topic.slice(0, 512), detail: e.detail.slice(0, 512), id: e.id ?? null, type: e.type ?? null, from: e.from?.slice(0, 80) ?? null },
      }).then(() => undefined),
    });
    ctx.gw.uplink = uplink;
    // The certificate each link presents (upstream teams verify with it), checked against the signer in use.
    for (const l of linkSigners(cfg)) {
      const d = describeLinkSigner(l);
      const entry = { link: l.link, kid: signer.kid, certificate: l.certificateFile, issuer: d.issuerFile };
      if (d.kid === signer.kid) ctx.logger.info(entry, 'upstream link signs with');
      else ctx.logger.warn({ ...entry, fileKid: d.kid ?? null }, 'upstream link signs with a certificate other than the file names (hsm.certFile changed since the start?)');
    }
    ctx.checks.push({ name: 'uplinks', run: async () => {
      const down = uplink.linkStatus().filter((l) => l.state !== 'up');
      return { ok: down.length === 0, detail: down.length ? `not connected: ${down.map((l) => l.name).join(', ')}` : 'all links connected' };
    } });
    return async () => {
      await uplink.close();
      await ctx.gw.simulated?.close();
    };
  },
};


/** The CS role (every numbered Juki-net flow) with the GW role in front of its number-linkage intake. */
export const rolesComponent: GatewayComponent = {
  name: 'roles',
  async start(ctx) {
    const atRest = ctx.gw.atRest;
    if (!ctx.broker || !ctx.gw.uplink || !ctx.gw.auditLog || !atRest) throw new Error('roles need the broker, the uplink, the audit trail and encryption at rest');
    const audit = { log: ctx.gw.auditLog, hashKey: atRest.hashKey };
    const gw = await startGwRole({ config: ctx.config, db: ctx.db, logger: ctx.logger, registry: ctx.registry, audit });
    const sealedJson = atRest.keyring.valueEncoding('json');
    const cs = await startCsRole({
      config: ctx.config, currentConfig: () => ctx.config, db: ctx.db, logger: ctx.logger, registry: ctx.registry,
      broker: ctx.broker, uplink: ctx.gw.uplink, audit, gateway: gw.attach,
      identityStore: await IdentityStore.open(ctx.db, {
        codec: sealedJson, indexKey: await atRest.keyring.secret('identity-index'), codeKey: await atRest.keyring.secret('identity-code'),
        // Read per change, so a configuration applied live (checkResidentCodeDigit) holds here too.
        validation: { get residentCodeCheckDigit() { return ctx.config.checkResidentCodeDigit; } },
        onMigrate: ({ sublevel, entries }) => {
          if (sublevel.includes(':sweep')) ctx.logger.warn({ sublevel, entries }, 'identity store: old keys found after their pass, rewritten by a sweep');
          else if (entries % 100_000 === 0) ctx.logger.info({ sublevel, entries }, 'identity store: moving keys to 住民票コード pseudonyms');
        },
      }),
      encodings: { local: sealedJson, moveout: sealedJson, answers: sealedJson },
    });
    const served = ctx.config.municipalities[0]!;
    ctx.gw.extra.consistency = consistencyFromChecker({
      checker: cs.consistency.checker, lgCode: () => served, peer: cs.consistency.peerOf(served),
      transport: cs.consistency.transportTo(cs.consistency.peerOf(served)),
    });
    ctx.gw.extra.cs = cs;
    ctx.gw.extra.gw = gw;
    return async () => { await cs.close(); await gw.close(); };
  },
};

/**
 * Configuration history (UI): the running configuration is the stored head version, so a change made
 * in the UI survives a restart even where /etc is read-only; a hand-edited file becomes the next version.
 */
export const versionsComponent: GatewayComponent = {
  name: 'config-versions',
  async start(ctx) {
    const versions = await openConfigVersions({
      db: ctx.db, initialText: ctx.configText ?? toYaml(ctx.config), signer: ctx.gw.signer, env: process.env,
      applyLive: async (next, plan) => {
        const disconnected = ctx.broker ? (await ctx.broker.reconfigure(next, { restartListeners: plan.restartListeners })).disconnected : [];
        ctx.config = next;
        if (plan.live.includes('log')) ctx.logger.level = next.log.level;
        ctx.logger.info({ live: plan.live, restartListeners: plan.restartListeners, restartRequired: plan.restartRequired, disconnected }, 'configuration change applied');
      },
    });
    ctx.gw.versions = versions;
    ctx.config = versions.running();
    return async () => {};
  },
};

export const uiComponent: GatewayComponent = {
  name: 'ui',
  async start(ctx) {
    if (!ctx.config.ui.enabled || !ctx.gw.versions || !ctx.gw.auditLog) return async () => {};
    const devCaDir = join(ctx.config.dataDir, 'dev-ca');
    const devCa = existsSync(join(devCaDir, 'ca.pem')) ? await loadDevCa(devCaDir)
      : ctx.configText === undefined ? await createDevCa(devCaDir, 'juki-gw development CA (embedded default)') : undefined;
    const versions = ctx.gw.versions;
    const { services, stop } = applianceServices({
      versions, auditLog: ctx.gw.auditLog, dataDir: ctx.config.dataDir,
      ...(ctx.broker ? { broker: ctx.broker } : {}), ...(ctx.gw.uplink ? { uplink: ctx.gw.uplink } : {}),
      ...(ctx.gw.signer ? { signer: ctx.gw.signer } : {}), ...(devCa ? { devCa } : {}),
      ...(ctx.gw.extra.consistency ? { consistency: ctx.gw.extra.consistency as never } : {}),
      uplinks: uplinkProbe(() => versions.running()),
      ...(ctx.gw.atRest ? { dataKeys: dataKeysFromKeyring({ db: ctx.db, keyring: ctx.gw.atRest.keyring, auditLog: ctx.gw.auditLog, logger: ctx.logger.child({ component: 'crypto' }) }) } : {}),
    });
    if (ctx.gw.signer) {
      services.operations = onlineOperations({
        db: ctx.db, dataDir: ctx.config.dataDir, signer: ctx.gw.signer, ...(ctx.gw.uplink ? { outbox: ctx.gw.uplink.outbox } : {}),
        identityStore: () => (ctx.gw.extra.cs as { store?: IdentityStore } | undefined)?.store, audit: (e) => services.audit.append(e),
      });
    }
    if (ctx.gw.simulated) services.simulatedUpstreams = SIMULATED_LABEL;
    const ui = await startAdminUi({ config: ctx.config.ui, services, logger: ctx.logger, db: ctx.db, dataDir: ctx.config.dataDir, ...(ctx.printOnce ? { printOnce: ctx.printOnce } : {}) });
    ctx.logger.info({ url: ui.url }, 'admin UI ready');
    ctx.gw.extra.uiUrl = ui.url;
    return async () => { stop(); await ui.close(); await services.dataKeys?.close(); };
  },
};

/** Before the broker: signer, sealing keys, audit trail, then the configuration history. */
export const gatewayComponents: GatewayComponent[] = [hsmComponent, atRestComponent, auditComponent, versionsComponent];
/** After the broker: uplinks, then the roles, then the UI (which shows them all). */
export const upstreamComponents: GatewayComponent[] = [uplinkComponent, rolesComponent];
export const frontComponents: GatewayComponent[] = [uiComponent];
