// Starts every simulated upstream node against one broker. All of it is SIMULATED: synthetic people,
// simulated CA, simulated J-LIS. Used by `juki-gw sim`, tests, benchmarks and the embedded default.
import { prefectureCodeOf } from '../domain/identifiers.js';
import type { Logger } from '../platform/log/logger.js';
import { SimDirectory, type SimPerson } from './directory.js';
import { cardHandlers } from './handlers/card.js';
import { imsHandlers } from './handlers/ims.js';
import { lgHandlers } from './handlers/lg.js';
import { nationalHandlers } from './handlers/national.js';
import { nwsHandlers } from './handlers/nws.js';
import { prefHandlers, type SimConsistencyPeer } from './handlers/pref.js';
import { SimNode, type SimHandler, type SimNodeOptions } from './node.js';
import { openSimPki, reloadingVerifier, simSigner } from './pki.js';

export interface SimulatorsOptions {
  brokerUrl: string;
  pkiDir: string;
  /** Municipality codes the appliance serves (their prefecture and ims nodes are simulated). */
  servedCodes: string[];
  /** Other municipalities whose CS is simulated (move-out certificates, move-in notices). */
  otherMunicipalities?: string[];
  /** Synthetic people known upstream (from the resident generator). */
  people?: Iterable<SimPerson>;
  tls?: { cert: Buffer | string; key: Buffer | string; ca: Buffer | string };
  replayWindowSeconds?: number;
  /** Replaces the simulators' verifier (benchmarks: the unsigned baseline). */
  verifier?: SimNodeOptions['verifier'];
  logger: Logger;
  /** Consistency peers per prefectural node (e.g. a StoreConsistencyPeer over the prefecture's copy). */
  consistencyPeers?: Record<string, SimConsistencyPeer>;
}

export interface Simulators {
  nodes: Map<string, SimNode>;
  node(address: string): SimNode;
  close(): Promise<void>;
}

export async function startSimulators(o: SimulatorsOptions): Promise<Simulators> {
  const pki = await openSimPki(o.pkiDir);
  const verifier = o.verifier ?? reloadingVerifier(pki, o.replayWindowSeconds ?? 300);
  const people = [...(o.people ?? [])];
  const national = new SimDirectory(people);
  const plan = new Map<string, Record<string, SimHandler>>();
  for (const code of o.servedCodes) {
    const pref = prefectureCodeOf(code);
    if (!plan.has(`pref:${pref}`))
      plan.set(
        `pref:${pref}`,
        prefHandlers(
          new SimDirectory(people.filter((p) => p.lgCode?.startsWith(pref.slice(0, 2)))),
          pref,
          o.consistencyPeers?.[`pref:${pref}`],
        ),
      );
    plan.set(`ims:${code}`, imsHandlers());
  }
  plan.set('national', nationalHandlers(national));
  plan.set('card', cardHandlers());
  plan.set('nws', nwsHandlers());
  for (const code of o.otherMunicipalities ?? []) {
    plan.set(`lg:${code}`, lgHandlers(new SimDirectory(people.filter((p) => p.lgCode === code)), code));
    plan.set(`ims:${code}`, imsHandlers());
  }
  const nodes = new Map<string, SimNode>();
  try {
    for (const [node, handlers] of plan) {
      const sim = new SimNode({
        node,
        brokerUrl: o.brokerUrl,
        tls: o.tls,
        signer: await simSigner(pki, node),
        verifier,
        handlers,
        logger: o.logger,
      });
      nodes.set(node, sim);
      await sim.start();
    }
  } catch (e) {
    await Promise.all([...nodes.values()].map((n) => n.close()));
    throw e;
  }
  return {
    nodes,
    node(address) {
      const n = nodes.get(address);
      if (!n) throw new Error(`no simulated node ${address}`);
      return n;
    },
    async close() {
      await Promise.all([...nodes.values()].map((n) => n.close()));
    },
  };
}
