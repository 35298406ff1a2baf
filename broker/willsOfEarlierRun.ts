// Wills left by an earlier run (kill -9): taken over from the store and re-checked under their
// registrant and the configuration now in force, before any listener opens. Each goes through the
// same publish checks as a client's publish (aedes.authorizePublish, durable ingress included).
import type { Client, PublishPacket } from 'aedes';
import type {} from './aedesInternals.js';
import { PASSING, Refusal } from './connections.js';
import { applianceMode, type BrokerContext } from './hooks/context.js';
import { publishStoredWills, takeOverStoredWills, type WillPersistence } from './stored-wills.js';
import { registrantIdentity, willProblem } from './will.js';

export async function publishWillsOfEarlierRun(ctx: BrokerContext, store: WillPersistence): Promise<void> {
  const { aedes, connections, log } = ctx;
  const wills = await takeOverStoredWills(store, (client) => {
    const who = connections.identities.get(client);
    return who && { systemId: who.systemId, role: who.role };
  });
  const published = await publishStoredWills(store, wills, {
    check(registrant, will) {
      const who = registrantIdentity(ctx.current, registrant);
      const problem = who.ok ? willProblem(who.identity, will, applianceMode(ctx)) : null;
      return problem ? { ok: false, reason: problem } : who;
    },
    refuse(will, reason, registrant) {
      ctx.deny('acl-will', `stored will of client ${will.clientId} on ${will.topic} not published: ${reason}`, {
        clientId: will.clientId,
        systemId: registrant?.systemId ?? null,
        topic: will.topic,
      });
    },
    async publish(will, identity) {
      // Stands for the connection that left the will: an object only this code holds, so no client can pose as it.
      const gone = { id: will.clientId } as Client;
      connections.identities.set(gone, identity);
      const packet = {
        cmd: 'publish',
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        retain: will.retain,
        dup: false,
      } as PublishPacket;
      try {
        await new Promise<void>((resolve, reject) =>
          aedes.authorizePublish(gone, packet, (e?: Error | null) => (e ? reject(e) : resolve())),
        );
      } catch (e) {
        // Refused and audited by the publish checks; a full disk or queue, or a failed store write, passes.
        return e instanceof Refusal && !PASSING.has((e as Refusal & { kind?: string }).kind ?? '') ? 'refused' : 'retry';
      }
      // With the client, as aedes publishes a live client's will (lib/client.js): the packet carries its client ID.
      try {
        await new Promise<void>((resolve, reject) => aedes.publish(packet, gone, (e?: Error) => (e ? reject(e) : resolve())));
        return 'published';
      } catch (e) {
        ctx.deny('storage', `stored will of client ${will.clientId} could not be published: ${(e as Error).message}`, {
          client: gone,
          topic: will.topic,
        });
        return 'retry';
      }
    },
  });
  if (wills.length > 0) log.info({ stored: wills.length, ...published }, 'last wills of the earlier run handled');
  if (published.kept > 0)
    log.warn(
      { kept: published.kept },
      'last wills of the earlier run kept for the next start: not published for a passing reason (disk, queue, store)',
    );
}
