// What the broker knows about each connection, written when it authenticates and read by every later
// check. Weak maps: an entry goes with its aedes client or socket.
import type { Client } from 'aedes';
import type { BrokerIdentity } from './acl.js';
import type { InflightWindow } from './inflight.js';
import type { ListenerInfo } from './listeners.js';
import type { WillShape } from './will.js';

export class Connections {
  /** The authenticated system and role behind a client. */
  readonly identities = new WeakMap<Client, BrokerIdentity>();
  /** The client certificate each TLS client presented, for a live change of the registered one. */
  readonly fingerprints = new WeakMap<Client, string>();
  /** The configured listener a socket came through. */
  readonly listenerOf = new WeakMap<object, ListenerInfo>();
  /** Authenticated clients still connected: what maxConnections counts. */
  readonly admitted = new Set<Client>();
  readonly windows = new WeakMap<Client, InflightWindow>();
  /** The will each client's CONNECT carried: aedes hands this very object to authorizePublish when it goes out. */
  readonly connectWills = new WeakMap<Client, WillShape>();
}

/** Marks errors we raised on purpose, so the client-error log does not report them twice. */
export class Refusal extends Error {}
/** Refusals that pass with time: a stored will refused for one of them is kept for the next start. */
export const PASSING = new Set(['storage', 'queue-full']);
/** An oversized request already answered with an error reply: PUBACK it, but never store or publish it. */
export class Answered extends Refusal {}
/** Set on a parser error already denied where it was raised. */
export const REPORTED = Symbol('reported');
