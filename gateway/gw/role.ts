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
import type { Logger } from '../log/logger.js';
import { openProvisionRecords, type ProvisionQuery, type ProvisionRecord, type ProvisionRecords } from '../provision/index.js';
import type { Db } from '../store/db.js';
import { gwScreenCounter } from './metrics.js';
import { recordInterruptedQueries } from './interrupted.js';
import { createPurger } from './purge.js';
import { recordingRequester, relayHandlers, type QueryLedger } from './relays.js';
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
export interface CsAttachment { flow: CsFlowDeps; handlers: Map<string, FlowHandler>; source: DurableRequestSource }

export interface GwRole {
  /** Registers the GW's handlers with the CS and returns the screened request source for its intake. */
  attach(cs: CsAttachment): DurableRequestSource;
  provision: ProvisionRecords;
  /** For the UI: 情報提供等記録 as JSON lines. */
  exportProvision(out: string, q?: ProvisionQuery): Promise<number>;
  listProvision(q?: ProvisionQuery): Promise<ProvisionRecord[]>;
  screenStats(): ScreenStats;
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

  const retention = setInterval(() => {
    provision.purgeExpired().then((n) => { if (n) logger.info({ count: n }, 'gw: provision records past retention deleted'); },
      (e: Error) => logger.warn({ err: e.message }, 'gw: provision retention failed'));
  }, config.provision.purgeIntervalHours * 3600_000);
  retention.unref();

  return {
    attach(cs) {
      const { flow } = cs;
      const code = createCodeRequest(flow, { serials, onAcknowledged: () => purger.request() });
      const queries: QueryLedger = new Map();
      const relayInteractive = createInteractive({
        db, localOutbox: flow.localOutbox, logger, selfAddress: () => `lg:${config.municipalities[0]}`,
        audit: (uow, e) => flow.audit.record(uow, e), requester: recordingRequester(flow, provision, queries),
      });
      interactives.push(code.interactive, relayInteractive);
      cs.handlers.set('code.request', code.handler);
      for (const [type, h] of relayHandlers({ flow, interactive: relayInteractive, provision, queries })) cs.handlers.set(type, h);
      screen = createGwScreen({
        source: cs.source, db, config: flow.config, localOutbox: flow.localOutbox, logger, selfAddress: () => `lg:${config.municipalities[0]}`,
        audit: flow.audit,
        // Whatever becomes of a code request (accepted, refused here or by the intake), its queue entry is
        // deleted within moments; the debounced compaction then removes the 処理通番 from the files.
        onRequest: (type) => { if (type === 'code.request') purger.request(); },
        count: gwScreenCounter(deps.registry),
      });
      logger.info({ types: ['code.request', 'addressee.update', 'serial.request', 'copy.update', 'info.query'] }, 'gw: number-linkage segment attached');
      return screen;
    },
    provision,
    exportProvision: (out, q) => provision.exportJsonLines(out, q),
    listProvision: (q) => provision.list(q),
    screenStats: () => screen?.stats() ?? { passed: 0, refused: 0, stripped: 0 },
    purgeNow: () => purger.flush(),
    async idle() { for (const i of interactives) await i.settled(); },
    async close() {
      clearInterval(retention);
      for (const i of interactives) await i.settled();
      await purger.close();
    },
  };
}
