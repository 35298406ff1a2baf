// Authentication → identity (system ID + role). TLS: the verified client certificate's CN is the system
// ID. Plain loopback listener: username = system ID, password from the system's secret ref.
//
// Client ID policy (appliance mode): the MQTT client ID must equal the system ID. A persistent session
// is keyed by client ID, so a free choice would let one system take over another's session and read
// its queued res/ and to/ messages (MQTT-3.1.4-2 takeover). Standalone mode follows MQTT 3.1.1
// literally: any client ID, and a zero-length one only with a clean session (MQTT-3.1.3-8).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApplianceConfig } from '../config/schema/index.js';
import { readSecret as readSecretDefault } from '../config/secrets.js';
import type { SecretRef } from '../config/schema/common.js';
import type { BrokerIdentity } from './acl.js';
import type { DenialReason } from './metrics.js';

export interface ConnectAttempt {
  listenerType: 'tls' | 'plain';
  /** Segment of the listener the connection came through (number-linkage is kept apart for the GW). */
  segment?: 'local' | 'number-linkage';
  /** Name of that listener (named in a refusal). */
  listener?: string;
  /** CN of the verified client certificate (TLS listeners only). */
  peerCn: string | null;
  /** SHA-256 of the verified client certificate's DER, hex (TLS listeners only). */
  peerFingerprint256?: string | null;
  username: string | undefined;
  password: Buffer | undefined;
  clientId: string;
  clean: boolean;
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 that authentication can give. */
export type RefusalCode = 2 | 3 | 4 | 5;
/** A refusal names the configured system it identified (`systemId`), so it is not taken for an unknown client. */
export type AuthResult =
  { ok: true; identity: BrokerIdentity } | { ok: false; returnCode: RefusalCode; denial: DenialReason; reason: string; systemId?: string };

function sameSecret(given: Buffer, expected: string): boolean {
  // Hash first: equal lengths for timingSafeEqual, and no length leak.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export function identityOf(config: ApplianceConfig, systemId: string | null, roleName: string): BrokerIdentity {
  const role = config.roles[roleName];
  const grants = config.broker.mode === 'standalone' && role?.topics ? role.topics : undefined;
  return { systemId, role: roleName, send: new Set(role?.send ?? []), ...(grants ? { grants } : {}) };
}

export function createAuthenticator(
  config: ApplianceConfig,
  readSecret: (ref: SecretRef) => string = (ref) => readSecretDefault(ref),
): (a: ConnectAttempt) => AuthResult {
  const standalone = config.broker.mode === 'standalone';
  const systems = new Map(config.systems.map((s) => [s.id, s]));
  const refuse = (returnCode: RefusalCode, denial: DenialReason, reason: string, systemId?: string): AuthResult => ({
    ok: false,
    returnCode,
    denial,
    reason,
    ...(systemId !== undefined ? { systemId } : {}),
  });

  return (a) => {
    if (a.clientId === '' && (!standalone || !a.clean)) {
      return refuse(
        2,
        'client-id',
        standalone
          ? 'zero-length client ID needs clean session (MQTT-3.1.3-8)'
          : 'zero-length client ID (appliance mode: client ID = system ID)',
      );
    }
    let systemId: string;
    if (a.listenerType === 'tls') {
      if (a.peerCn === null) return refuse(5, 'not-authorized', 'client certificate has no CN');
      if (a.username !== undefined && a.username !== '' && a.username !== a.peerCn) {
        return refuse(4, 'auth', `username does not match certificate CN ${a.peerCn}`);
      }
      systemId = a.peerCn;
    } else {
      if (a.username === undefined || a.username === '') {
        if (standalone && config.broker.anonymousRole !== undefined && a.password === undefined) {
          return { ok: true, identity: identityOf(config, null, config.broker.anonymousRole) };
        }
        return refuse(4, 'auth', 'no username on the plain listener');
      }
      const sys = systems.get(a.username);
      // Unknown user, no password configured, wrong password: the same answer, so IDs cannot be probed.
      if (!sys?.password || a.password === undefined) return refuse(4, 'auth', 'bad username or password');
      let expected: string;
      try {
        expected = readSecret(sys.password);
      } catch (e) {
        return refuse(3, 'auth', `password secret unreadable: ${(e as Error).message}`);
      }
      if (!sameSecret(a.password, expected)) return refuse(4, 'auth', 'bad username or password');
      systemId = sys.id;
    }
    const sys = systems.get(systemId);
    if (!sys) return refuse(5, 'not-authorized', `system ${systemId} is not configured`);
    if (!sys.enabled) return refuse(5, 'not-authorized', `system ${systemId} is disabled`, systemId);
    // A pinned certificate: the CA may issue several with the same CN; only the registered one counts.
    if (
      a.listenerType === 'tls' &&
      sys.certificateSha256 !== undefined &&
      (a.peerFingerprint256 ?? '').toLowerCase() !== sys.certificateSha256.toLowerCase()
    ) {
      return refuse(5, 'not-authorized', `certificate does not match the one registered for system ${systemId}`, systemId);
    }
    // Segment separation: the number-linkage server only on its own listener, nobody else there.
    if (a.segment !== undefined && (sys.role === 'number-linkage') !== (a.segment === 'number-linkage')) {
      const other = a.segment === 'number-linkage' ? 'local' : 'number-linkage';
      return refuse(
        5,
        'not-authorized',
        `system ${systemId} (role ${sys.role}) is configured but connected on the wrong listener: ${a.listener ?? 'this listener'} serves the ${a.segment} segment only; connect on a ${other} listener`,
        systemId,
      );
    }
    if (!standalone && a.clientId !== systemId) {
      return refuse(2, 'client-id', `client ID must equal the system ID ${systemId}`);
    }
    return { ok: true, identity: identityOf(config, systemId, sys.role) };
  };
}
