// Last wills that outlive the broker process. aedes 1.x publishes the wills of a broker that is gone
// (after kill -9 or a power loss) from a timer, four heartbeats after start, passing no client at all
// or whichever client holds that client ID by then: neither says who left the will. So the broker
// stores the registrant (system ID and role) with each will, hands aedes' timer none of them, and at
// start, before any listener opens, takes every stored will (all are from an earlier run) through
// the will policy under that registrant and the configuration now in force; an admitted one then
// goes through the same checks and durable store as a client's publish. Either way it is deleted.
import { Readable } from 'node:stream';
import type { Client } from 'aedes';
import type { BrokerIdentity } from './acl.js';
import { asRegistrant, type RegistrantCheck, type WillRegistrant, type WillShape } from './will.js';

export interface StoredWill extends WillShape {
  clientId: string;
  payload?: unknown;
  registrant?: unknown;
}

/** The will part of the aedes persistence (broker/persistence/levelPersistence.ts). */
export interface WillPersistence {
  putWill(client: Client, packet: object): Promise<void>;
  delWill(client: { id: string }): Promise<unknown>;
  streamWill(brokers?: Record<string, unknown>): Readable;
}

/**
 * Stores each will with its registrant from now on, and keeps stored wills away from aedes' own
 * publication. Returns the stored wills as they are now (for the pass at start).
 */
export async function takeOverStoredWills(
  p: WillPersistence,
  registrantOf: (client: Client) => WillRegistrant | undefined,
): Promise<StoredWill[]> {
  const stored = (await p.streamWill({}).toArray()) as StoredWill[];
  const putWill = p.putWill.bind(p);
  p.putWill = (client, packet) => putWill(client, { ...packet, registrant: registrantOf(client) });
  p.streamWill = () => Readable.from([]);
  return stored;
}

export interface StoredWillSteps {
  /** Who the registrant is under the configuration in force, and whether it may leave this will. */
  check(registrant: WillRegistrant | undefined, will: StoredWill): RegistrantCheck;
  /**
   * Publishes like a client's publish of that identity (ACL, limits, durable store); audits a refusal.
   * `retry`: not published for a passing reason (disk, a full queue, a failed store write).
   */
  publish(will: StoredWill, identity: BrokerIdentity): Promise<'published' | 'refused' | 'retry'>;
  refuse(will: StoredWill, reason: string, registrant: WillRegistrant | undefined): void;
}

/**
 * Publishes or refuses each stored will, then deletes it; a will held back for a passing reason stays
 * stored for the next start (the earlier run accepted it). Returns how many went out and were kept.
 */
export async function publishStoredWills(
  p: WillPersistence,
  wills: StoredWill[],
  steps: StoredWillSteps,
): Promise<{ published: number; kept: number }> {
  let published = 0;
  let kept = 0;
  for (const will of wills) {
    const registrant = asRegistrant(will.registrant);
    const decision = steps.check(registrant, will);
    let outcome: 'published' | 'refused' | 'retry' = 'refused';
    if (!decision.ok) steps.refuse(will, decision.reason, registrant);
    else outcome = await steps.publish(will, decision.identity);
    if (outcome === 'retry') {
      kept++;
      continue;
    }
    if (outcome === 'published') published++;
    await p.delWill({ id: will.clientId });
  }
  return { published, kept };
}
