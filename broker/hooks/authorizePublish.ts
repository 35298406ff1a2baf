// PUBLISH from a client: the will re-check, then ACL → payload size → disk space → offline-queue bound,
// wrapped by durable ingress (broker/persistence: stored in LevelDB before the PUBACK), after aedes
// lib/handlers/publish.js. aedes writes PUBACK only after authorizePublish calls back, so whatever
// ingress stores is durable before the publisher sees PUBACK; a refusal disconnects (3.1.1 has no
// negative PUBACK). The one exception is an oversized local request (broker/oversize.ts):
// acknowledged, not stored, answered.
import type { AedesOptions, Client, PublishPacket } from 'aedes';
import { canPublish } from '../acl.js';
import { Answered, Refusal } from '../connections.js';
import { checkPayloadSize, type DiskGuard, type OfflineQueueGuard } from '../limits.js';
import type { DenialReason } from '../metrics.js';
import { answersOversize, oversizeReply } from '../oversize.js';
import { wireDurableIngress, type LevelPersistence } from '../persistence/index.js';
import { registrantIdentity, willProblem } from '../will.js';
import { applianceMode, type BrokerContext } from './context.js';

export interface PublishGuards {
  disk: DiskGuard;
  queues: OfflineQueueGuard;
}

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

/** The hook aedes is created with: refusals are denied (logged, audited) here. */
export function createAuthorizePublish(ctx: BrokerContext, guards: PublishGuards): AuthorizePublish {
  const { connections, deny } = ctx;
  return function authorizePublish(client, packet, done) {
    // In-process publishes (res/ and to/ pushes, crash replay) call aedes.publish and never come
    // here. Without a client this is aedes publishing a stored will on its own, which it is no
    // longer given (broker/stored-wills.ts): nobody vouches for it.
    if (!client) {
      const clientId = (packet as { clientId?: string }).clientId;
      deny('acl-will', `publish with no client attached refused (${packet.topic})`, {
        topic: packet.topic,
        ...(clientId ? { clientId } : {}),
      });
      return done(new Refusal('publish with no client attached'));
    }
    // A connection that ended without DISCONNECT: its will, re-checked under the configuration now in force.
    if (connections.connectWills.get(client) === packet) {
      const who = connections.identities.get(client);
      const check = registrantIdentity(ctx.current, who && { systemId: who.systemId, role: who.role });
      const problem = check.ok ? willProblem(check.identity, packet, applianceMode(ctx)) : check.reason;
      if (problem) {
        deny('acl-will', `last will on ${packet.topic} not published: ${problem}`, { client, topic: packet.topic });
        return done(new Refusal(problem));
      }
    }
    admitPublish(ctx, guards, client, packet).then(
      (refusal) => {
        if (refusal === null) return done(null);
        if (refusal === 'answered') return done(new Answered('oversized request answered'));
        deny(refusal[0], refusal[1], { client, topic: packet.topic });
        done(Object.assign(new Refusal(refusal[1]), { kind: refusal[0] }));
      },
      (e: Error) => {
        deny('storage', `publish check failed: ${e.message}`, { client, topic: packet.topic });
        done(new Refusal(e.message));
      },
    );
  };
}

/**
 * Wraps the created broker's authorizePublish in durable ingress, and keeps aedes from publishing an
 * answered oversized request after its PUBACK.
 */
export function installDurableIngress(ctx: BrokerContext, level: LevelPersistence): void {
  const { aedes, connections, deny } = ctx;
  /** Packets acknowledged by an Answered refusal: aedes publishes after the PUBACK; they must go nowhere. */
  const unpublished = new WeakSet<object>();
  // Durable ingress wraps our checks: a publish is stored only once ACL and limits admitted it,
  // and a failed write refuses it (no PUBACK) instead of acknowledging data that is not on disk.
  const durable = wireDurableIngress(aedes, level, aedes.authorizePublish.bind(aedes), {
    requesterOf: (c: Client) => connections.identities.get(c)?.systemId ?? c.id,
  });
  aedes.authorizePublish = (client, packet, done) =>
    durable(client, packet, (err) => {
      if (err instanceof Answered) {
        unpublished.add(packet);
        return done(null);
      }
      if (err && !(err instanceof Refusal) && client)
        deny('storage', `ingress write failed: ${err.message}`, { client, topic: packet.topic });
      done(err);
    });
  const publish = aedes.publish.bind(aedes);
  aedes.publish = (packet: PublishPacket, client: Client | null | ((e?: Error) => void), done?: (e?: Error) => void) => {
    if (typeof client !== 'function' && unpublished.has(packet)) return done?.();
    return (publish as (p: unknown, c: unknown, d: unknown) => void)(packet, client, done);
  };
}

/** null: admitted; 'answered': an oversized request that got its error reply (see answerOversize). */
async function admitPublish(
  ctx: BrokerContext,
  guards: PublishGuards,
  client: Client,
  packet: PublishPacket,
): Promise<[DenialReason, string] | 'answered' | null> {
  const who = ctx.connections.identities.get(client);
  if (!who) return ['not-authorized', 'publish from an unauthenticated client'];
  const acl = canPublish(who, packet.topic, { intakeAnswersRequests: ctx.deps.intakeAnswersRequests === true });
  if (!acl.ok) return ['acl-publish', acl.reason];
  const size = checkPayloadSize(packet.payload?.length ?? 0, ctx.limits);
  if (!size.ok) {
    if (!answersOversize(packet.topic, packet.qos, who.systemId)) return ['payload-too-large', size.reason];
    return answerOversize(ctx, guards, client, who.systemId, packet, size.reason);
  }
  const space = guards.disk.admit();
  if (!space.ok) return ['storage', space.reason];
  const queue = await guards.queues.admit(packet.topic, packet.qos);
  if (!queue.ok) return ['queue-full', queue.reason];
  return null;
}

/**
 * The error reply goes to the system's res/ queue before the PUBACK, so a PUBACKed oversized
 * request always has its answer stored; one that cannot be queued is refused as before.
 */
async function answerOversize(
  ctx: BrokerContext,
  guards: PublishGuards,
  client: Client,
  systemId: string,
  packet: PublishPacket,
  reason: string,
): Promise<[DenialReason, string] | 'answered'> {
  const topic = `res/${systemId}`;
  const room = await guards.queues.admit(topic, 1);
  if (!room.ok) return ['queue-full', `${reason}; its error reply could not be queued: ${room.reason}`];
  const reply = oversizeReply(packet.payload as Buffer, systemId, `lg:${ctx.current.municipalities[0]}`, ctx.limits.maxPayloadBytes);
  await new Promise<void>((resolve, reject) =>
    ctx.aedes.publish(
      { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(reply)), qos: 1, retain: false, dup: false },
      (e?: Error) => (e ? reject(e) : resolve()),
    ),
  );
  ctx.deny(
    'payload-too-large',
    `${reason}; acknowledged without storing it, answered invalid_request on ${topic} (corr ${reply.corr ?? 'null'}), connection kept`,
    { client, topic: packet.topic },
  );
  return 'answered';
}
