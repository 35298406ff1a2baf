// The appliance's MQTT broker: aedes 1.x behind our listeners, authentication, ACL and limits.
// authorizePublish order: ACL → payload size → disk space → offline-queue bound → durable ingress
// (broker/persistence: stored in LevelDB before the PUBACK).
// aedes writes PUBACK only after authorizePublish calls back, so whatever ingress stores is durable
// before the publisher sees PUBACK; a refusal disconnects (3.1.1 has no negative PUBACK). The one
// exception is an oversized local request (broker/oversize.ts): acknowledged, not stored, answered.
import { mkdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import { Registry } from 'prom-client';
import type { ApplianceConfig } from '../config/schema/index.js';
import type { SecretRef } from '../config/schema/common.js';
import { MAX_CONNECT_TIMEOUT_MS } from '../config/schema/broker.js';
import type { Db } from '../platform/store/db.js';
import type { Logger } from '../platform/log/logger.js';
import { canPublish, canSubscribe, type BrokerIdentity } from './acl.js';
import { identityOf, createAuthenticator } from './auth.js';
import { certificateFingerprint } from './client-cert.js';
import { startListener, type ListenerInfo, type RunningListener } from './listeners.js';
import { checkPayloadSize, DiskGuard, OfflineQueueGuard, type Alarm, type QueuedSubscriber } from './limits.js';
import { createBrokerMetrics, type DenialReason } from './metrics.js';
import { createBrokerPersistence, type BrokerPersistence } from './persistenceFactory.js';
import { guardParser, WireError } from './wire.js';
import { markRedeliveries } from './redelivery.js';
import { installInflightWindow, type InflightWindow } from './inflight.js';
import { answersOversize, OVERSIZE_ANSWER_FACTOR, oversizeReply } from './oversize.js';
import { wireDurableIngress, type ValueSealer } from './persistence/index.js';
import { registrantIdentity, willProblem, type WillShape } from './will.js';
import { publishStoredWills, takeOverStoredWills, type WillPersistence } from './stored-wills.js';
import { LoginThrottle } from './login-throttle.js';
import { normalize, onFirstBytes, PreAuthGate } from './preauth.js';

/** What the audit log records about a refusal or an alarm. */
export type BrokerAuditEvent =
  | { kind: 'denial'; reason: DenialReason; detail: string; systemId: string | null; clientId: string | null; listener: string | null; remote: string | null; topic?: string; at: string }
  | { kind: 'alarm'; alarm: Alarm };

export interface BrokerDeps {
  logger: Logger;
  db?: Db;
  persistence?: BrokerPersistence;
  registry?: Registry;
  audit?: (event: BrokerAuditEvent) => void;
  readSecret?: (ref: SecretRef) => string;
  /** Seals what the broker stores (encryption at rest); used only when it creates its persistence. */
  sealer?: ValueSealer;
  /** The appliance's intake consumes req/ and answers refused requests (see PublishPolicy). */
  intakeAnswersRequests?: boolean;
}

export interface BrokerHandle {
  aedes: Aedes;
  persistence: BrokerPersistence;
  registry: Registry;
  /** Bound address of a configured listener (by its name). */
  address(listenerName: string): { host: string; port: number };
  /** The authenticated identity behind an aedes client. */
  identityOf(client: Client): BrokerIdentity | undefined;
  onAlarm(fn: (a: Alarm) => void): () => void;
  /** Alarms currently raised. */
  activeAlarms(): Alarm[];
  listenersUp(): boolean;
  /**
   * Offline-queue bound for in-process publishes (the appliance's res/ and to/ pushes bypass
   * authorizePublish): ok, or why the publish must wait. Raises the queue alarm like client publishes.
   */
  admitOffline(topic: string, qos: number): Promise<{ ok: true } | { ok: false; reason: string }>;
  freeDiskBytes(): Promise<number>;
  /** Re-reads TLS material (new CRL) for new connections. */
  reloadTls(): void;
  /**
   * Applies a new configuration without dropping clients where possible: systems, roles (ACL) and
   * limits live — a connected client whose system was removed, disabled or given another role is
   * disconnected —; only the listeners named in `restartListeners` are restarted.
   */
  reconfigure(next: ApplianceConfig, opts?: { restartListeners?: string[] }): Promise<{ disconnected: string[] }>;
  close(): Promise<void>;
}

/** Marks errors we raised on purpose, so the client-error log does not report them twice. */
class Refusal extends Error {}
/** Refusals that pass with time: a stored will refused for one of them is kept for the next start. */
const PASSING = new Set(['storage', 'queue-full']);
/** An oversized request already answered with an error reply: PUBACK it, but never store or publish it. */
class Answered extends Refusal {}
const REPORTED = Symbol('reported');

const TOPIC_AND_HEADER_OVERHEAD = 2 + 65535 + 2;

export async function startBroker(config: ApplianceConfig, deps: BrokerDeps): Promise<BrokerHandle> {
  const log = deps.logger.child({ component: 'broker' });
  let current = config;
  // One object, updated in place on reconfigure, because the guards hold a reference to it.
  const limits = { ...config.limits };
  const registry = deps.registry ?? new Registry();
  const metrics = createBrokerMetrics(registry);
  mkdirSync(config.dataDir, { recursive: true });
  const ownPersistence = deps.persistence === undefined;
  const persistence = deps.persistence ?? await createBrokerPersistence(
    { ...(deps.db ? { db: deps.db } : { dataDir: config.dataDir }), sync: config.broker.syncWrites, ...(deps.sealer ? { sealer: deps.sealer } : {}) });
  let authenticate = createAuthenticator(config, deps.readSecret);

  const identities = new WeakMap<Client, BrokerIdentity>();
  /** The client certificate each TLS client presented, for a live change of the registered one. */
  const fingerprints = new WeakMap<Client, string>();
  const listenerOf = new WeakMap<object, ListenerInfo>();
  const admitted = new Set<Client>();
  const windows = new WeakMap<Client, InflightWindow>();
  const alarmListeners = new Set<(a: Alarm) => void>();
  const active = new Map<string, Alarm>();

  const raise = (a: Omit<Alarm, 'at'>) => {
    const alarm: Alarm = { ...a, at: new Date().toISOString() };
    const key = `${a.kind}:${a.subject}`;
    if ((a.state === 'raised') === active.has(key)) return; // already in that state
    if (a.state === 'raised') { active.set(key, alarm); metrics.alarm(a.kind); log.warn({ alarm }, `alarm raised: ${a.message}`); }
    else { active.delete(key); log.info({ alarm }, `alarm cleared: ${a.message}`); }
    deps.audit?.({ kind: 'alarm', alarm });
    for (const fn of alarmListeners) fn(alarm);
  };

  /** quiet: counted and logged at debug level only, for the repeats a burst summary covers. */
  const deny = (reason: DenialReason, detail: string, ctx: { client?: Client | null; conn?: object; remote?: string | undefined; topic?: string; systemId?: string | null; clientId?: string }, quiet = false) => {
    const client = ctx.client ?? null;
    const conn = ctx.conn ?? client?.conn;
    const event = {
      kind: 'denial' as const, reason, detail,
      systemId: ctx.systemId !== undefined ? ctx.systemId : client ? identities.get(client)?.systemId ?? null : null,
      clientId: ctx.clientId ?? client?.id ?? null,
      listener: conn ? listenerOf.get(conn)?.name ?? null : null,
      remote: ctx.remote ?? (conn as Socket | undefined)?.remoteAddress ?? null,
      ...(ctx.topic !== undefined ? { topic: ctx.topic } : {}),
      at: new Date().toISOString(),
    };
    metrics.denial(reason);
    if (quiet) return log.debug({ denial: event }, `denied (${reason}): ${detail}`);
    log.warn({ denial: event }, `denied (${reason}): ${detail}`);
    deps.audit?.(event);
  };

  const throttle = new LoginThrottle(() => limits.authFailures);
  /** Backoff keys of a password login: the source address, and the system when the username names one. */
  const loginKeys = (username: string | undefined, remote: string | undefined): string[] => {
    const sys = username !== undefined && current.systems.some((x) => x.id === username) ? [`system ${username}`] : [];
    return [...sys, `address ${normalize(remote)}`];
  };
  const announce = (notices: Array<{ detail: string }>, ctx: { client?: Client; conn?: object }) => {
    for (const n of notices) deny('auth-throttled', n.detail, ctx);
  };

  const preAuthScope = (address: string, scope: 'address' | 'total') => (scope === 'address' ? `address ${address}` : 'all addresses');
  const gate = new PreAuthGate(() => limits.preAuth, {
    evicted(address, scope) {
      const bound = scope === 'address' ? `${limits.preAuth.maxPerAddress} per address` : `${limits.preAuth.maxTotal} in total`;
      deny('pre-auth', `unauthenticated connections at their bound (${bound}): an idle one from ${address} closed`, { remote: address }, true);
      raise({ kind: 'pre-auth', state: 'raised', subject: preAuthScope(address, scope), message: `unauthenticated connections at their bound (${bound}); the idlest ones from ${scope === 'address' ? address : 'the address holding the most'} are closed` });
    },
    timedOut(address) {
      deny('pre-auth', `no authenticated CONNECT within ${limits.preAuth.connectTimeoutMs} ms: closed`, { remote: address }, true);
    },
  });
  /** Pre-authentication alarms clear once their count is back under half its bound. */
  const clearPreAuthAlarms = () => {
    for (const a of active.values()) {
      if (a.kind !== 'pre-auth') continue;
      const all = a.subject === 'all addresses';
      const count = all ? gate.total : gate.pendingFrom(a.subject.slice('address '.length));
      const bound = all ? limits.preAuth.maxTotal : limits.preAuth.maxPerAddress;
      if (count * 2 < bound) raise({ kind: 'pre-auth', state: 'cleared', subject: a.subject, message: `unauthenticated connections of ${a.subject} back to ${count}` });
    }
  };

  const disk = new DiskGuard(config.dataDir, limits.minFreeDiskBytes, raise);
  await disk.start();
  const queues = new OfflineQueueGuard(
    limits,
    (topic) => (persistence.aedes as { subscriptionsByTopic(t: string): Promise<QueuedSubscriber[]> }).subscriptionsByTopic(topic),
    (id) => persistence.outgoingDepth(id),
    raise,
  );

  /** null: admitted; 'answered': an oversized request that got its error reply (see answerOversize). */
  async function admitPublish(client: Client, packet: PublishPacket): Promise<[DenialReason, string] | 'answered' | null> {
    const who = identities.get(client);
    if (!who) return ['not-authorized', 'publish from an unauthenticated client'];
    const acl = canPublish(who, packet.topic, { intakeAnswersRequests: deps.intakeAnswersRequests === true });
    if (!acl.ok) return ['acl-publish', acl.reason];
    const size = checkPayloadSize(packet.payload?.length ?? 0, limits);
    if (!size.ok) {
      if (!answersOversize(packet.topic, packet.qos, who.systemId)) return ['payload-too-large', size.reason];
      return answerOversize(client, who.systemId, packet, size.reason);
    }
    const space = disk.admit();
    if (!space.ok) return ['storage', space.reason];
    const queue = await queues.admit(packet.topic, packet.qos);
    if (!queue.ok) return ['queue-full', queue.reason];
    return null;
  }

  /**
   * The error reply goes to the system's res/ queue before the PUBACK, so a PUBACKed oversized
   * request always has its answer stored; one that cannot be queued is refused as before.
   */
  async function answerOversize(client: Client, systemId: string, packet: PublishPacket, reason: string): Promise<[DenialReason, string] | 'answered'> {
    const topic = `res/${systemId}`;
    const room = await queues.admit(topic, 1);
    if (!room.ok) return ['queue-full', `${reason}; its error reply could not be queued: ${room.reason}`];
    const reply = oversizeReply(packet.payload as Buffer, systemId, `lg:${current.municipalities[0]}`, limits.maxPayloadBytes);
    await new Promise<void>((resolve, reject) => aedes.publish(
      { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(reply)), qos: 1, retain: false, dup: false },
      (e?: Error) => (e ? reject(e) : resolve())));
    deny('payload-too-large', `${reason}; acknowledged without storing it, answered invalid_request on ${topic} (corr ${reply.corr ?? 'null'}), connection kept`, { client, topic: packet.topic });
    return 'answered';
  }
  /** Wills left by an earlier run (kill -9): re-checked under their registrant, before any listener opens. */
  async function publishWillsOfEarlierRun(): Promise<void> {
    const store = persistence.aedes as WillPersistence;
    const wills = await takeOverStoredWills(store, (client) => {
      const who = identities.get(client);
      return who && { systemId: who.systemId, role: who.role };
    });
    const published = await publishStoredWills(store, wills, {
      check(registrant, will) {
        const who = registrantIdentity(current, registrant);
        const problem = who.ok ? willProblem(who.identity, will, appliance()) : null;
        return problem ? { ok: false, reason: problem } : who;
      },
      refuse(will, reason, registrant) {
        deny('acl-will', `stored will of client ${will.clientId} on ${will.topic} not published: ${reason}`,
          { clientId: will.clientId, systemId: registrant?.systemId ?? null, topic: will.topic });
      },
      async publish(will, identity) {
        // Stands for the connection that left the will: an object only this code holds, so no client can pose as it.
        const gone = { id: will.clientId } as Client;
        identities.set(gone, identity);
        const packet = { cmd: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false } as PublishPacket;
        try {
          await new Promise<void>((resolve, reject) => aedes.authorizePublish(gone, packet, (e?: Error | null) => (e ? reject(e) : resolve())));
        } catch (e) {
          // Refused and audited by the publish checks; a full disk or queue, or a failed store write, passes.
          return e instanceof Refusal && !PASSING.has((e as Refusal & { kind?: string }).kind ?? '') ? 'refused' : 'retry';
        }
        // With the client, as aedes publishes a live client's will (lib/client.js): the packet carries its client ID.
        const publishAs = aedes.publish as unknown as (p: PublishPacket, c: Client, d: (e?: Error) => void) => void;
        try {
          await new Promise<void>((resolve, reject) => publishAs.call(aedes, packet, gone, (e?: Error) => (e ? reject(e) : resolve())));
          return 'published';
        } catch (e) {
          deny('storage', `stored will of client ${will.clientId} could not be published: ${(e as Error).message}`, { client: gone, topic: will.topic });
          return 'retry';
        }
      },
    });
    if (wills.length > 0) log.info({ stored: wills.length, ...published }, 'last wills of the earlier run handled');
    if (published.kept > 0) log.warn({ kept: published.kept }, 'last wills of the earlier run kept for the next start: not published for a passing reason (disk, queue, store)');
  }
  /** Packets acknowledged by an Answered refusal: aedes publishes after the PUBACK; they must go nowhere. */
  const unpublished = new WeakSet<object>();
  /** The will each client's CONNECT carried: aedes hands this very object to authorizePublish when it goes out. */
  const connectWills = new WeakMap<Client, WillShape>();
  const appliance = () => current.broker.mode === 'appliance';

  markRedeliveries(persistence.aedes);
  const aedes: Aedes = await Aedes.createBroker({
    persistence: persistence.aedes,
    maxInflightInbound: limits.maxInflight,
    // aedes' own deadline runs from a connection's first bytes and cannot change live: set to the
    // longest limits.preAuth.connectTimeoutMs allows, so the gate's (from TCP accept, live) always decides.
    connectTimeout: MAX_CONNECT_TIMEOUT_MS,
    authenticate(client, username, password, done) {
      const info = listenerOf.get(client.conn);
      const refuse = (returnCode: 2 | 3 | 4 | 5, reason: DenialReason, detail: string, quiet = false) => {
        deny(reason, detail, { client, conn: client.conn }, quiet);
        done(Object.assign(new Refusal(detail), { returnCode }), false);
      };
      if (!info) return refuse(5, 'listener', 'connection did not come through a configured listener');
      // A reconnect of a connected client ID replaces it (MQTT-3.1.4-2), so it does not count twice.
      const takeover = (aedes as unknown as { clients: Record<string, Client> }).clients[client.id] !== undefined;
      if (!takeover && admitted.size >= limits.maxConnections) {
        return refuse(3, 'max-connections', `maxConnections ${limits.maxConnections} reached`);
      }
      let peerCn: string | null = null;
      let peerFingerprint256: string | null = null;
      if (info.type === 'tls') {
        const peer = (client.conn as TLSSocket).getPeerCertificate?.();
        const cn = peer?.subject?.CN;
        peerCn = Array.isArray(cn) ? (cn.length === 1 ? cn[0]! : null) : cn ?? null;
        if (peer?.raw) peerFingerprint256 = certificateFingerprint(peer.raw);
      }
      // Passwords exist only on plain listeners (TLS authenticates by certificate): only they can be guessed.
      const keys = info.type === 'plain' ? loginKeys(username, (client.conn as Socket).remoteAddress) : [];
      const backoff = keys.length > 0 ? throttle.refuses(keys, Date.now()) : null;
      if (backoff) return refuse(5, 'auth-throttled', `${backoff} is in backoff after failed logins: refused without checking the password`, true);
      const clientIdEmpty = (client as unknown as { _jukiEmptyId?: boolean })._jukiEmptyId === true;
      const r = authenticate({
        listenerType: info.type, segment: info.segment, peerCn, peerFingerprint256, username, password,
        clientId: clientIdEmpty ? '' : client.id, clean: client.clean,
      });
      if (!r.ok) {
        if (keys.length === 0 || r.denial !== 'auth' || r.returnCode !== 4) return refuse(r.returnCode, r.denial, r.reason);
        const failure = throttle.failed(keys, Date.now());
        refuse(r.returnCode, r.denial, r.reason, !failure.audit);
        return announce(failure.notices, { client, conn: client.conn });
      }
      if (keys.length > 0) announce(throttle.succeeded(`system ${r.identity.systemId}`), { client, conn: client.conn });
      const will = connectWills.get(client);
      const willRefused = will && willProblem(r.identity, will, appliance());
      if (willRefused) {
        deny('acl-will', `last will on ${will.topic} refused: ${willRefused}`, { client, conn: client.conn, systemId: r.identity.systemId, topic: will.topic });
        return done(Object.assign(new Refusal(willRefused), { returnCode: 5 }), false);
      }
      gate.authenticated(client.conn);
      identities.set(client, r.identity);
      if (peerFingerprint256) fingerprints.set(client, peerFingerprint256);
      admitted.add(client);
      client.conn.once('close', () => admitted.delete(client));
      log.info({ clientId: client.id, systemId: r.identity.systemId, role: r.identity.role, listener: info.name }, 'client authenticated');
      done(null, true);
    },
    preConnect(client, packet, done) {
      // aedes replaces a zero-length client ID before authenticate runs; remember that it was empty.
      (client as unknown as { _jukiEmptyId?: boolean })._jukiEmptyId = packet.clientId === '';
      gate.connectArrived(client.conn);
      if (packet.will) connectWills.set(client, packet.will as WillShape);
      // Before the session's subscriptions are restored: they capture the delivery function.
      windows.set(client, installInflightWindow(client, limits.maxInflight, limits.maxOfflineQueue, (held) => {
        deny('slow-consumer', `clean session stopped acknowledging: ${held} messages held beyond the inflight window`, { client });
        client.close();
      }));
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      // In-process publishes (res/ and to/ pushes, crash replay) call aedes.publish and never come
      // here. Without a client this is aedes publishing a stored will on its own, which it is no
      // longer given (broker/stored-wills.ts): nobody vouches for it.
      if (!client) {
        const clientId = (packet as { clientId?: string }).clientId;
        deny('acl-will', `publish with no client attached refused (${packet.topic})`, { topic: packet.topic, ...(clientId ? { clientId } : {}) });
        return done(new Refusal('publish with no client attached'));
      }
      // A connection that ended without DISCONNECT: its will, re-checked under the configuration now in force.
      if (connectWills.get(client) === packet) {
        const who = identities.get(client);
        const check = registrantIdentity(current, who && { systemId: who.systemId, role: who.role });
        const problem = check.ok ? willProblem(check.identity, packet, appliance()) : check.reason;
        if (problem) {
          deny('acl-will', `last will on ${packet.topic} not published: ${problem}`, { client, topic: packet.topic });
          return done(new Refusal(problem));
        }
      }
      admitPublish(client, packet).then((refusal) => {
        if (refusal === null) return done(null);
        if (refusal === 'answered') return done(new Answered('oversized request answered'));
        deny(refusal[0], refusal[1], { client, topic: packet.topic });
        done(Object.assign(new Refusal(refusal[1]), { kind: refusal[0] }));
      }, (e: Error) => {
        deny('storage', `publish check failed: ${e.message}`, { client, topic: packet.topic });
        done(new Refusal(e.message));
      });
    },
    authorizeSubscribe(client, sub: Subscription, done) {
      const who = identities.get(client);
      const d = who ? canSubscribe(who, sub.topic) : { ok: false as const, reason: 'unauthenticated client' };
      if (d.ok) return done(null, sub);
      deny('acl-subscribe', d.reason, { client, topic: sub.topic });
      done(null, null); // SUBACK 0x80 for this filter; the others in the packet are unaffected
    },
    authorizeForward(_client, packet) {
      metrics.messageOut();
      return packet;
    },
  });

  const level = persistence.level;
  // Durable ingress wraps our checks: a publish is stored only once ACL and limits admitted it,
  // and a failed write refuses it (no PUBACK) instead of acknowledging data that is not on disk.
  const durable = wireDurableIngress(aedes, level, aedes.authorizePublish.bind(aedes), {
    requesterOf: (c: Client) => identities.get(c)?.systemId ?? c.id,
  });
  aedes.authorizePublish = (client, packet, done) => durable(client, packet, (err) => {
    if (err instanceof Answered) {
      unpublished.add(packet);
      return done(null);
    }
    if (err && !(err instanceof Refusal) && client) deny('storage', `ingress write failed: ${err.message}`, { client, topic: packet.topic });
    done(err);
  });
  const publish = aedes.publish.bind(aedes);
  aedes.publish = ((packet: PublishPacket, client: Client | null | ((e?: Error) => void), done?: (e?: Error) => void) => {
    if (typeof client !== 'function' && unpublished.has(packet)) return done?.();
    return (publish as (p: unknown, c: unknown, d: unknown) => void)(packet, client, done);
  });
  level.onAlarm((a) => raise({
    kind: 'storage', state: a.kind === 'write-failed' ? 'raised' : 'cleared', subject: 'leveldb', message: a.message,
  }));
  const replayed = await level.replayIngress(aedes);
  if (replayed > 0) log.info({ replayed }, 'ingress replayed after restart');
  await publishWillsOfEarlierRun();

  const onClientError = (client: Client, err: Error) => {
    if (err instanceof Refusal || (err as { [REPORTED]?: boolean })[REPORTED]) return;
    if (err.message === 'Invalid protocol') {
      deny('malformed', 'MQTT protocol violation (CONNECT twice, or a packet before CONNECT)', { client, conn: client.conn });
      return;
    }
    log.info({ clientId: client.id ?? null, err: err.message }, 'client connection ended with an error');
  };
  aedes.on('clientError', onClientError);
  aedes.on('connectionError', onClientError);
  // aedes reports failures of its own timers (heartbeat, will sweep) here; unhandled, it would end the process.
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => log.error({ err: err.message }, 'broker internal error'));
  aedes.on('ack', (_packet, client) => windows.get(client)?.acked());
  aedes.on('clientReady', (client) => windows.get(client)?.open());
  // Counted once published (after the durable store), not when merely admitted.
  aedes.on('publish', (_packet, client) => { if (client) metrics.messageIn(); });
  aedes.on('keepaliveTimeout', (client) => log.info({ clientId: client.id }, 'keepalive timeout: disconnected'));
  aedes.on('clientDisconnect', (client) => log.info({ clientId: client.id }, 'client disconnected'));

  // Read up to the factor past the limit, so that an oversized request can still be answered.
  const maxPacketBytes = () => OVERSIZE_ANSWER_FACTOR * limits.maxPayloadBytes + TOPIC_AND_HEADER_OVERHEAD;
  const listeners: RunningListener[] = [];
  const openListener = (l: ApplianceConfig['listeners'][number]) => startListener(l, {
        // Authenticated systems, the unauthenticated budget, and sockets still closing.
        maxSockets: limits.maxConnections + limits.preAuth.maxTotal + 64,
        opened: (raw) => gate.opened(raw),
        accept(conn, info, raw) {
          if (conn !== raw) gate.handshaken(conn, raw);
          listenerOf.set(conn, info);
          onFirstBytes(conn, () => {
            const client = aedes.handle(conn) as unknown as Client & { _parser: NodeJS.EventEmitter };
            guardParser(client._parser, maxPacketBytes());
            // Parser errors are bad input from the wire: logged and counted here, once.
            client._parser.prependListener('error', (err: Error) => {
              (err as { [REPORTED]?: boolean })[REPORTED] = true;
              deny(err instanceof WireError ? err.kind : 'malformed', err.message, { client, conn });
            });
          });
        },
        refused(info, reason, remote, raw) {
          if (raw && gate.closedHere(raw)) return; // an idle handshake the budget closed: counted as pre-auth
          deny(reason.startsWith('tls') ? 'tls' : 'listener', `listener ${info.name}: ${reason}`, { remote });
        },
      });
  try {
    for (const l of config.listeners) {
      listeners.push(await openListener(l));
      log.info({ listener: l.name, type: l.type, address: listeners.at(-1)!.address() }, 'listener up');
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    await new Promise<void>((r) => aedes.close(() => r()));
    disk.stop();
    throw e;
  }

  const sweep = setInterval(() => {
    queues.sweep().catch(() => { /* next sweep */ });
    announce(throttle.sweep(Date.now()), {});
    clearPreAuthAlarms();
  }, 1000);
  sweep.unref();
  metrics.setSamplers({
    connections: () => aedes.connectedClients,
    queueDepths: async () => {
      const out = new Map<string, number>();
      for (const id of await persistence.queuedClients()) out.set(id, await persistence.outgoingDepth(id));
      return out;
    },
  });

  let closed = false;
  return {
    aedes, persistence, registry,
    address(name) {
      const l = listeners.find((x) => x.name === name);
      if (!l) throw new Error(`no listener named ${name}`);
      return l.address();
    },
    identityOf: (client) => identities.get(client),
    onAlarm(fn) { alarmListeners.add(fn); return () => alarmListeners.delete(fn); },
    activeAlarms: () => [...active.values()],
    listenersUp: () => !closed && listeners.length === current.listeners.length && listeners.every((l) => l.listening()),
    admitOffline: (topic, qos) => queues.admit(topic, qos),
    freeDiskBytes: () => disk.sample(),
    reloadTls() { for (const l of listeners) if (l.type === 'tls') l.reloadTls(); },
    async reconfigure(next, opts = {}) {
      current = next;
      authenticate = createAuthenticator(next, deps.readSecret);
      Object.assign(limits, next.limits);
      disk.setMinFreeBytes(next.limits.minFreeDiskBytes);
      const disconnected: string[] = [];
      const clients = (aedes as unknown as { clients: Record<string, Client> }).clients;
      for (const client of Object.values(clients)) {
        const who = identities.get(client);
        if (!who || who.systemId === null) continue;
        const sys = next.systems.find((x) => x.id === who.systemId);
        const presented = fingerprints.get(client);
        const certChanged = sys?.certificateSha256 !== undefined && presented !== undefined && presented !== sys.certificateSha256.toLowerCase();
        if (!sys || !sys.enabled || sys.role !== who.role || certChanged) {
          const why = !sys ? 'removed' : !sys.enabled ? 'disabled' : sys.role !== who.role ? `now has role ${sys.role}` : 'registered with another client certificate';
          deny('not-authorized', `configuration changed: system ${who.systemId} ${why}`, { client });
          disconnected.push(who.systemId);
          client.close();
        } else {
          identities.set(client, identityOf(next, who.systemId, sys.role));
        }
      }
      for (const name of opts.restartListeners ?? []) {
        const i = listeners.findIndex((l) => l.name === name);
        if (i >= 0) { await listeners[i]!.close(); listeners.splice(i, 1); }
        const l = next.listeners.find((x) => x.name === name);
        if (l) {
          listeners.push(await openListener(l));
          log.info({ listener: l.name, address: listeners.at(-1)!.address() }, 'listener restarted with its new settings');
        } else {
          log.info({ listener: name }, 'listener removed');
        }
      }
      log.info({ disconnected, restartedListeners: opts.restartListeners ?? [] }, 'configuration applied');
      return { disconnected };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      disk.stop();
      // Clients first (wills, session state), then the sockets that never completed CONNECT.
      await new Promise<void>((r) => aedes.close(() => r()));
      await Promise.all(listeners.map((l) => l.close()));
      if (ownPersistence) await persistence.close();
      log.info('broker closed');
    },
  };
}
