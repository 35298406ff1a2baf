// Last-will policy (pure). A will is a publish like any other (CONTRACT.md "Transport"): the role must
// be allowed to publish it, checked at CONNECT and again when it is published, then under the identity
// and role of the system that left it — never under whichever client (or none) happens to be there.
import type { ApplianceConfig } from '../config/schema/index.js';
import { canPublish, type BrokerIdentity } from './acl.js';
import { identityOf } from './auth.js';

/** Who left a will: stored with it, so that a will outliving its connection keeps its author. */
export interface WillRegistrant {
  systemId: string | null;
  role: string;
}

export interface WillShape {
  topic: string;
  qos: number;
  retain: boolean;
}

/**
 * Why `who` may not leave this will, or null. The topic follows the publish ACL strictly (a will of a
 * type the role may not send is refused, not answered later). In appliance mode a will is a request
 * like any other: QoS 1 (a QoS 0 request is never stored, so never answered) and not retained.
 */
export function willProblem(who: BrokerIdentity, will: WillShape, appliance: boolean): string | null {
  const acl = canPublish(who, will.topic);
  if (!acl.ok) return acl.reason;
  if (!appliance) return null;
  if (will.qos !== 1) return `QoS ${will.qos} (a will must be QoS 1, like every request)`;
  if (will.retain) return 'retained (no contract topic carries retained messages)';
  return null;
}

export type RegistrantCheck = { ok: true; identity: BrokerIdentity } | { ok: false; reason: string };

/** A registrant as read back from storage: anything else counts as missing. */
export function asRegistrant(value: unknown): WillRegistrant | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { systemId, role } = value as Record<string, unknown>;
  if ((systemId !== null && typeof systemId !== 'string') || typeof role !== 'string') return undefined;
  return { systemId, role };
}

/** The registrant's identity under the configuration in force now, or why its will may not go out. */
export function registrantIdentity(config: ApplianceConfig, r: WillRegistrant | undefined): RegistrantCheck {
  const no = (reason: string): RegistrantCheck => ({ ok: false, reason });
  if (!r) return no('stored without the identity of the system that left it');
  if (r.systemId === null) {
    return config.broker.mode === 'standalone' && config.broker.anonymousRole === r.role
      ? { ok: true, identity: identityOf(config, null, r.role) }
      : no(`anonymous clients no longer have role ${r.role}`);
  }
  const sys = config.systems.find((s) => s.id === r.systemId);
  if (!sys) return no(`system ${r.systemId} is no longer configured`);
  if (!sys.enabled) return no(`system ${r.systemId} is disabled`);
  if (sys.role !== r.role) return no(`system ${r.systemId} now has role ${sys.role}, not ${r.role} under which it left the will`);
  return { ok: true, identity: identityOf(config, r.systemId, r.role) };
}
