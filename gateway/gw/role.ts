// Composition of the GW role (住基ネットGWシステム): the whitelist screen in front of the CS's intake
// (the only path from the number-linkage segment to the CS), the code request (CS half in
// gateway/cs/flows/codeRequest.ts), the relays to the intermediate server, 情報提供等記録 with
// retention, and the compaction that removes deleted 処理通番 from LevelDB's files.
//
// Wiring: `const gw = await startGwRole(deps); const cs = await startCsRole({ ..., gateway: gw.attach });`
import type { Registry } from 'prom-client';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { AuditLog } from '../audit/index.js';
import type { KeyHasher } from '../crypto/index.js';
import { createCodeRequest } from '../cs/flows/codeRequest.js';
import type { CsFlowDeps } from '../cs/flows/shared.js';
import { createInteractive, type Interactive } from '../local/interactive.js';
import type { DurableRequestSource } from '../local/intake.js';
import type { FlowHandler } from '../local/types.js';
import type { Logger } from '../../platform/log/logger.js';
import { openProvisionRecords, type ProvisionQuery, type ProvisionRecord, type ProvisionRecords } from '../provision/index.js';
import type { Db } from '../../platform/store/db.js';
import { gwScreenCounter } from './metrics.js';
import { recordInterruptedQueries } from './interrupted.js';
import { createPurger } from './purge.js';
import { createRelayCallers, type RelayCallers } from './deadRelays.js';
import { relayHandlers } from './relays.js';
import { createGwScreen, type ScreenStats } from './screen.js';
import { createSerialRegistry } from './serials.js';

export interface GwRoleDeps {
  config: ApplianceConfig;
  db: Db;
  logger: Logger;
  registry?: Registry;
  audit: { log: AuditLog; hashKey: KeyHasher };
  /** Minimum time between compactions of the transient stores (default 5 s). */
  purgeIntervalMs?: number;
}

/** What the CS role hands the GW when it builds its intake (CsRoleDeps.gateway). */
export interface CsAttachment {
  flow: CsFlowDeps;
  handlers: Map<string, FlowHandler>;
  source: DurableRequestSource;
}

export interface GwRole {
  /** Registers the GW's handlers with the CS and returns the screened request source for its intake. */
  attach(cs: CsAttachment): DurableRequestSource;
  provision: ProvisionRecords;
  /** For the UI: 情報提供等記録 as JSON lines. */
  exportProvision(out: string, q?: ProvisionQuery): Promise<number>;
  listProvision(q?: ProvisionQuery): Promise<ProvisionRecord[]>;
  screenStats(): ScreenStats;
  /**
   * The daily retention job, now: provision records and 処理通番 hashes older than
   * provision.retentionYears go; callers of dead-lettered relays not yet answered are answered.
   */
  purgeExpired(now?: Date): Promise<{ provision: number; serials: number; relaysDelivered: number; relaysDead: number }>;
  /** Compacts the transient stores now (deleted 処理通番 leave the LevelDB files). */
  purgeNow(): Promise<void>;
  /** Every request the GW forwarded is answered. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startGwRole(deps: GwRoleDeps): Promise<GwRole> {
  const { config, db } = deps;
  const logger = deps.logger.child({ component: 'gw' });
  const provision = openProvisionRecords(db, { retentionYears: config.provision.retentionYears });
  const serials = createSerialRegistry(db, deps.audit.hashKey);
  const purger = createPurger(db, logger, deps.purgeIntervalMs ?? 5000);
  const interrupted = await recordInterruptedQueries(db, provision);
  if (interrupted) logger.warn({ count: interrupted }, 'gw: information queries interrupted by a restart recorded as upstream_unavailable');
  const interactives: Interactive[] = [];
  let screen: ReturnType<typeof createGwScreen> | undefined;

  let relayed: RelayCallers | undefined;
  let stopDeadLetters = () => undefined as void;
  // Answers to callers of dead-lettered relays still being written (awaited by close).
  const answering = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    answering.add(p);
    void p.finally(() => answering.delete(p));
  };
  const purgeExpired = async (now = new Date()) => {
    const p = await provision.purgeExpired(now);
    // The reuse window of a 処理通番 is the provision retention: the same cutoff as the records.
    const cutoff = new Date(now);
    cutoff.setUTCFullYear(cutoff.getUTCFullYear() - config.provision.retentionYears);
    const serialsPruned = await serials.prune(cutoff.getTime());
    const r = relayed ? await relayed.reconcile() : { delivered: 0, dead: 0 };
    return { provision: p, serials: serialsPruned, relaysDelivered: r.delivered, relaysDead: r.dead };
  };
  const retention = setInterval(() => {
    purgeExpired().then(
      (n) => {
        if (n.provision || n.serials || n.relaysDead)
          logger.info(n, 'gw: retention: expired provision records and 処理通番 hashes deleted');
      },
      (e: Error) => logger.warn({ err: e.message }, 'gw: retention failed'),
    );
  }, config.provision.purgeIntervalHours * 3600_000);
  retention.unref();

  return {
    attach(cs) {
      const { flow } = cs;
      const code = createCodeRequest(flow, { serials, onAcknowledged: () => purger.request() });
      const selfAddress = () => `lg:${config.municipalities[0]}`;
      const relayInteractive = createInteractive({
        db,
        localOutbox: flow.localOutbox,
        logger,
        selfAddress,
        audit: (uow, e) => flow.audit.record(uow, e),
        requester: { request: (e, o) => flow.uplink.request(e, o) },
      });
      interactives.push(code.interactive, relayInteractive);
      relayed = createRelayCallers(flow, selfAddress, logger);
      const onDead = (entry: Parameters<RelayCallers['deadLettered']>[0]) => {
        track(
          relayed!
            .deadLettered(entry)
            .catch((e: Error) =>
              logger.error(
                { err: e.message, id: entry.envelope.id },
                'gw: caller of a dead-lettered relay not answered yet; the retention job retries',
              ),
            ),
        );
      };
      flow.uplink.outbox.on('dead', onDead);
      stopDeadLetters = () => {
        flow.uplink.outbox.off('dead', onDead);
      };
      // Relays dead-lettered while the GW was not listening (stopped between the move and the answer).
      track(
        relayed
          .reconcile()
          .catch((e: Error) => logger.warn({ err: e.message }, 'gw: reconciling relay callers failed; the retention job retries')),
      );
      cs.handlers.set('code.request', code.handler);
      for (const [type, h] of relayHandlers({ flow, interactive: relayInteractive, provision, relayed })) cs.handlers.set(type, h);
      screen = createGwScreen({
        source: cs.source,
        db,
        config: flow.config,
        localOutbox: flow.localOutbox,
        logger,
        selfAddress,
        audit: flow.audit,
        // Whatever becomes of a code request (accepted, refused here or by the intake), its queue entry is
        // deleted within moments; the debounced compaction then removes the 処理通番 from the files.
        onRequest: (type) => {
          if (type === 'code.request') purger.request();
        },
        count: gwScreenCounter(deps.registry),
      });
      logger.info(
        { types: ['code.request', 'addressee.update', 'serial.request', 'copy.update', 'info.query'] },
        'gw: number-linkage segment attached',
      );
      return screen;
    },
    provision,
    exportProvision: (out, q) => provision.exportJsonLines(out, q),
    listProvision: (q) => provision.list(q),
    screenStats: () => screen?.stats() ?? { passed: 0, refused: 0, stripped: 0 },
    purgeExpired,
    purgeNow: () => purger.flush(),
    async idle() {
      for (const i of interactives) await i.settled();
    },
    async close() {
      clearInterval(retention);
      stopDeadLetters();
      await Promise.allSettled([...answering]);
      for (const i of interactives) await i.settled();
      await purger.close();
    },
  };
}
