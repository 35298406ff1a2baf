// Connections that have not authenticated yet (TCP accepted; TLS handshake, CONNECT and
// authentication still to come) have a budget of their own, per source address and in total, and a
// deadline (limits.preAuth). They never count against maxConnections, which counts authenticated
// systems only. At the bound the new connection is let in and an older one is closed: the one that
// shows least sign of being a real client — sent nothing (plain) or has not finished its TLS
// handshake, then no CONNECT yet, then the oldest — from the same address, or for the total bound
// from the address holding the most. A flood of idle sockets thus only ever displaces its own
// sockets, and a system that sends its CONNECT at once gets in even from the flood's address.
import type { Socket } from 'node:net';
import type { PreAuthLimits } from '../config/schema/broker.js';

interface Pending {
  raw: Socket;
  /** What aedes reads: the TLS socket over `raw` once its handshake is done, else `raw`. */
  conn: Socket;
  address: string;
  handshaken: boolean;
  connectSeen: boolean;
  timer: NodeJS.Timeout;
}

export interface PreAuthEvents {
  /** A connection was closed to make room; `scope` says which bound was reached. */
  evicted(address: string, scope: 'address' | 'total'): void;
  timedOut(address: string): void;
}

/** Lower: closed first. */
function standing(p: Pending): number {
  if (p.connectSeen) return 2;
  return p.handshaken || p.raw.bytesRead > 0 ? 1 : 0;
}

export class PreAuthGate {
  /** Per address, in arrival order. */
  readonly #byAddress = new Map<string, Set<Pending>>();
  readonly #byConn = new WeakMap<object, Pending>();
  /** TCP sockets this gate closed: their failed TLS handshakes are not refusals to report. */
  readonly #closed = new WeakSet<Socket>();
  #total = 0;

  constructor(
    private readonly limits: () => PreAuthLimits,
    private readonly events: PreAuthEvents,
  ) {}

  get total(): number {
    return this.#total;
  }
  closedHere(raw: Socket): boolean {
    return this.#closed.has(raw);
  }
  pendingFrom(address: string): number {
    return this.#byAddress.get(address)?.size ?? 0;
  }

  /** A TCP connection was accepted (before any TLS handshake). */
  opened(raw: Socket): void {
    const address = normalize(raw.remoteAddress);
    const l = this.limits();
    let mine = this.#byAddress.get(address);
    if (mine && mine.size >= l.maxPerAddress) {
      this.#evict(mine);
      this.events.evicted(address, 'address');
    }
    if (this.#total >= l.maxTotal) {
      const heaviest = this.#heaviest();
      if (heaviest) {
        this.#evict(heaviest[1]);
        this.events.evicted(heaviest[0], 'total');
      }
    }
    mine = this.#byAddress.get(address); // an eviction may have emptied and dropped it
    if (!mine) this.#byAddress.set(address, (mine = new Set()));
    const p: Pending = {
      raw,
      conn: raw,
      address,
      handshaken: false,
      connectSeen: false,
      timer: setTimeout(() => {
        this.events.timedOut(address);
        this.#close(p);
      }, l.connectTimeoutMs),
    };
    p.timer.unref();
    mine.add(p);
    this.#total++;
    this.#byConn.set(raw, p);
    raw.once('close', () => this.#leave(p));
  }

  /** The TLS handshake over `raw` is done; `conn` is the socket aedes will read. */
  handshaken(conn: Socket, raw: Socket): void {
    const p = this.#byConn.get(raw);
    if (!p) return;
    p.handshaken = true;
    p.conn = conn;
    this.#byConn.set(conn, p);
  }

  /** A complete CONNECT arrived on `conn`: closed only when nothing else is left to close. */
  connectArrived(conn: object): void {
    const p = this.#byConn.get(conn);
    if (p) p.connectSeen = true;
  }

  /** Authenticated: out of this budget (maxConnections counts it from now on). */
  authenticated(conn: object): void {
    const p = this.#byConn.get(conn);
    if (p) this.#leave(p);
  }

  #leave(p: Pending): void {
    const mine = this.#byAddress.get(p.address);
    if (!mine?.delete(p)) return;
    clearTimeout(p.timer);
    this.#total--;
    if (mine.size === 0) this.#byAddress.delete(p.address);
  }

  #evict(from: Set<Pending>): void {
    let pick: Pending | undefined;
    for (const p of from) {
      if (!pick || standing(p) < standing(pick)) pick = p;
      if (standing(pick) === 0) break;
    }
    if (pick) this.#close(pick);
  }

  #close(p: Pending): void {
    this.#leave(p);
    this.#closed.add(p.raw);
    p.conn.destroy();
  }

  #heaviest(): [string, Set<Pending>] | undefined {
    let best: [string, Set<Pending>] | undefined;
    for (const e of this.#byAddress) if (!best || e[1].size > best[1].size) best = e;
    return best;
  }
}

/**
 * Calls `handOver` once the connection has sent something, with those bytes still unread: an idle
 * socket costs no MQTT client (aedes builds parser, timers and listeners per connection), which keeps
 * a flood that reconnects as fast as it is closed from slowing the real clients' logins.
 */
export function onFirstBytes(conn: Socket, handOver: () => void): void {
  const ignore = () => {
    /* before the hand-over nobody reads: a reset just closes it */
  };
  conn.on('error', ignore);
  conn.once('data', (chunk: Buffer) => {
    conn.pause();
    conn.unshift(chunk);
    conn.off('error', ignore);
    handOver();
  });
}

/** The source address as one key (IPv4-mapped IPv6 written as IPv4). */
export function normalize(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
