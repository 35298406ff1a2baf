// CONNECT: preConnect (before the session is restored) and authenticate (listener, connection bound,
// login backoff, credentials, the will's topic), after aedes lib/handlers/connect.js.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AedesOptions, Client } from 'aedes';
import { createAuthenticator } from '../auth.js';
import { certificateFingerprint } from '../client-cert.js';
import { installInflightWindow } from '../inflight.js';
import { LoginThrottle } from '../login-throttle.js';
import type { DenialReason } from '../metrics.js';
import { normalize, type PreAuthGate } from '../preauth.js';
import { willProblem, type WillShape } from '../will.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { Refusal } from '../connections.js';
import type { DenialContext } from '../denials.js';
import { applianceMode, connectedClients, type BrokerContext } from './context.js';

/** aedes replaces a zero-length client ID before authenticate runs; preConnect remembers it was empty. */
type MarkedClient = Client & { _jukiEmptyId?: boolean };

export interface Authentication {
  preConnect: NonNullable<AedesOptions['preConnect']>;
  authenticate: NonNullable<AedesOptions['authenticate']>;
  /** Ends the bursts of failed logins that are over (periodic). */
  sweep(now: number): void;
  /** New systems and secrets for the connections to come. */
  reconfigure(next: ApplianceConfig): void;
}

export function createAuthentication(ctx: BrokerContext, gate: PreAuthGate): Authentication {
  const { connections, deny, limits } = ctx;
  let check = createAuthenticator(ctx.current, ctx.deps.readSecret);
  const throttle = new LoginThrottle(() => limits.authFailures);
  /** Backoff keys of a password login: the source address, and the system when the username names one. */
  const loginKeys = (username: string | undefined, remote: string | undefined): string[] => {
    const sys = username !== undefined && ctx.current.systems.some((x) => x.id === username) ? [`system ${username}`] : [];
    return [...sys, `address ${normalize(remote)}`];
  };
  const announce = (notices: Array<{ detail: string }>, at: DenialContext) => {
    for (const n of notices) deny('auth-throttled', n.detail, at);
  };

  return {
    sweep(now) {
      announce(throttle.sweep(now), {});
    },
    reconfigure(next) {
      check = createAuthenticator(next, ctx.deps.readSecret);
    },
    preConnect(client, packet, done) {
      (client as MarkedClient)._jukiEmptyId = packet.clientId === '';
      gate.connectArrived(client.conn);
      if (packet.will) connections.connectWills.set(client, packet.will as WillShape);
      // Before the session's subscriptions are restored: they capture the delivery function.
      connections.windows.set(
        client,
        installInflightWindow(client, limits.maxInflight, limits.maxOfflineQueue, (held) => {
          deny('slow-consumer', `clean session stopped acknowledging: ${held} messages held beyond the inflight window`, { client });
          client.close();
        }),
      );
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const info = connections.listenerOf.get(client.conn);
      const refuse = (returnCode: 2 | 3 | 4 | 5, reason: DenialReason, detail: string, quiet = false, systemId?: string) => {
        deny(reason, detail, { client, conn: client.conn, ...(systemId !== undefined ? { systemId } : {}) }, quiet);
        done(Object.assign(new Refusal(detail), { returnCode }), false);
      };
      if (!info) return refuse(5, 'listener', 'connection did not come through a configured listener');
      // A reconnect of a connected client ID replaces it (MQTT-3.1.4-2), so it does not count twice.
      const takeover = connectedClients(ctx.aedes)[client.id] !== undefined;
      if (!takeover && connections.admitted.size >= limits.maxConnections) {
        return refuse(3, 'max-connections', `maxConnections ${limits.maxConnections} reached`);
      }
      let peerCn: string | null = null;
      let peerFingerprint256: string | null = null;
      if (info.type === 'tls') {
        const peer = (client.conn as TLSSocket).getPeerCertificate?.();
        const cn = peer?.subject?.CN;
        peerCn = Array.isArray(cn) ? (cn.length === 1 ? cn[0]! : null) : (cn ?? null);
        if (peer?.raw) peerFingerprint256 = certificateFingerprint(peer.raw);
      }
      // Passwords exist only on plain listeners (TLS authenticates by certificate): only they can be guessed.
      const keys = info.type === 'plain' ? loginKeys(username, (client.conn as Socket).remoteAddress) : [];
      const backoff = keys.length > 0 ? throttle.refuses(keys, Date.now()) : null;
      if (backoff)
        return refuse(5, 'auth-throttled', `${backoff} is in backoff after failed logins: refused without checking the password`, true);
      const r = check({
        listenerType: info.type,
        segment: info.segment,
        listener: info.name,
        peerCn,
        peerFingerprint256,
        username,
        password,
        clientId: (client as MarkedClient)._jukiEmptyId === true ? '' : client.id,
        clean: client.clean,
      });
      if (!r.ok) {
        if (keys.length === 0 || r.denial !== 'auth' || r.returnCode !== 4)
          return refuse(r.returnCode, r.denial, r.reason, false, r.systemId);
        const failure = throttle.failed(keys, Date.now());
        refuse(r.returnCode, r.denial, r.reason, !failure.audit);
        return announce(failure.notices, { client, conn: client.conn });
      }
      if (keys.length > 0) announce(throttle.succeeded(`system ${r.identity.systemId}`), { client, conn: client.conn });
      const will = connections.connectWills.get(client);
      const willRefused = will && willProblem(r.identity, will, applianceMode(ctx));
      if (willRefused) {
        deny('acl-will', `last will on ${will.topic} refused: ${willRefused}`, {
          client,
          conn: client.conn,
          systemId: r.identity.systemId,
          topic: will.topic,
        });
        return done(Object.assign(new Refusal(willRefused), { returnCode: 5 }), false);
      }
      gate.authenticated(client.conn);
      connections.identities.set(client, r.identity);
      if (peerFingerprint256) connections.fingerprints.set(client, peerFingerprint256);
      connections.admitted.add(client);
      client.conn.once('close', () => connections.admitted.delete(client));
      ctx.log.info(
        { clientId: client.id, systemId: r.identity.systemId, role: r.identity.role, listener: info.name },
        'client authenticated',
      );
      done(null, true);
    },
  };
}
