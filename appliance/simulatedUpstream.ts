// Embedded default without upstreams: an in-process upstream broker with every upstream node
// simulated on it (prefecture, national server, card management, ims, NWS, other municipalities).
// Everything here is SIMULATED and says so in the logs and in health.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import type { Logger } from '../platform/log/logger.js';
import type { UpstreamConfig } from '../config/schema/uplink.js';
import { startSimulators, type Simulators } from '../sim/run.js';
import { certifyAppliance, openSimPki, reloadingVerifier, type SimPki } from '../sim/pki.js';
import { generateResidents } from '../sim/residents.js';
import type { TokenSigner } from '../hsm/index.js';
import type { Verifier } from '../hsm/types.js';
import type { SimPerson } from '../sim/directory.js';
import { SIMULATED_LINK } from '../gateway/uplink/linkSigners.js';
import { prefectureCodeOf } from '../domain/identifiers.js';
import { ConsistencyPeerError, StoreConsistencyPeer } from '../gateway/cs/consistency/peer.js';
import type { IdentityStore } from '../gateway/cs/identityStore.js';

export const SIMULATED_LABEL = 'SIMULATED upstream (no upstreams configured): not J-LIS, not a prefecture';

export interface SimulatedUpstream {
  upstream: UpstreamConfig;
  signer: TokenSigner;
  verifier: Verifier;
  sims: Simulators;
  /** The embedded upstream broker itself (tests watch what it receives, e.g. the appliance's acknowledgements). */
  broker: Aedes;
  /**
   * Gives the simulated prefectures a copy of the population to check against: the appliance's own
   * identity store (started after the uplinks), so a consistency check of the embedded default finishes.
   */
  compareConsistencyWith(store: IdentityStore): void;
  close(): Promise<void>;
}

/** Other municipalities simulated for move-in/move-out: Yokkaichi (same prefecture), Tsurumi (another). */
export const OTHER_MUNICIPALITIES = ['242021', '141011'];

function* simulatedPeople(served: string[], perCode: number): Generator<SimPerson> {
  for (const name of ['mie', 'yokohama']) {
    for (const change of generateResidents(name, { count: perCode * 4, seed: 'embedded-default' })) {
      yield change;
    }
  }
  void served;
}

export async function startSimulatedUpstream(o: {
  dataDir: string;
  served: string[];
  signer: TokenSigner;
  logger: Logger;
  port?: number;
  peoplePerCode?: number;
}): Promise<SimulatedUpstream> {
  const log = o.logger.child({ component: 'simulated-upstream' });
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `mqtt://127.0.0.1:${port}`;
  const pki: SimPki = await openSimPki(join(o.dataDir, 'sim-pki'));
  const signer = await certifyAppliance(pki, o.signer, `lg:${o.served[0]}`);
  let peer: StoreConsistencyPeer | undefined;
  const consistencyPeer = (req: Parameters<StoreConsistencyPeer['handle']>[0]) => {
    if (!peer)
      throw new ConsistencyPeerError(
        'invalid_request',
        'the simulated prefecture has no store to compare with yet (the CS role is not running)',
      );
    return peer.handle(req);
  };
  const consistencyPeers = Object.fromEntries(o.served.map((code) => [`pref:${prefectureCodeOf(code)}`, consistencyPeer]));
  let sims: Simulators;
  try {
    sims = await startSimulators({
      brokerUrl: url,
      pkiDir: pki.dir,
      servedCodes: o.served,
      otherMunicipalities: OTHER_MUNICIPALITIES,
      people: simulatedPeople(o.served, o.peoplePerCode ?? 1000),
      logger: log,
      consistencyPeers,
    });
  } catch (e) {
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
    throw e;
  }
  log.warn({ url, nodes: [...sims.nodes.keys()] }, SIMULATED_LABEL);
  return {
    upstream: { name: SIMULATED_LINK, url, nodes: ['*'] },
    signer,
    verifier: reloadingVerifier(pki),
    sims,
    broker: aedes,
    compareConsistencyWith(store) {
      peer = new StoreConsistencyPeer(store);
    },
    async close() {
      await sims.close();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
