// MQTT listeners: TLS with mandatory client certificates (mTLS), and plain TCP on loopback only.
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, Socket, type Server } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { isLoopback } from '../config/schema/common.js';
import type { ListenerConfig } from '../config/schema/broker.js';

export interface ListenerInfo {
  name: string;
  type: 'tls' | 'plain';
  segment: 'local' | 'number-linkage';
}

export interface RunningListener extends ListenerInfo {
  address(): { host: string; port: number };
  /** Still accepting connections. */
  listening(): boolean;
  /** Re-reads certificate, key, CA and CRL files (TLS only): a new CRL applies to new connections. */
  reloadTls(): void;
  close(): Promise<void>;
}

export interface ListenerHooks {
  /** A TCP connection was accepted, before any TLS handshake or transport check. */
  opened(raw: Socket): void;
  /** A connection that passed the transport checks; hand it to aedes. `raw`: its TCP socket. */
  accept(conn: Socket | TLSSocket, info: ListenerInfo, raw: Socket): void;
  /** A connection refused before MQTT (bad certificate, non-loopback peer on a plain listener...). */
  refused(info: ListenerInfo, reason: string, remote: string | undefined, raw?: Socket): void;
  /** Sockets beyond this are closed as soon as accepted (a bound on file descriptors). */
  maxSockets: number;
}

/** Loopback as seen on a socket (IPv4-mapped IPv6 included). */
export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  return isLoopback(addr.startsWith('::ffff:') ? addr.slice(7) : addr);
}

function tlsOptions(l: ListenerConfig) {
  const t = l.tls!;
  return {
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    ca: readFileSync(t.ca),
    ...(t.crl.length ? { crl: t.crl.map((f) => readFileSync(f)) } : {}),
    // The chain (CA, expiry, CRL) is still verified by OpenSSL on every handshake; refusing it here
    // rather than inside OpenSSL is what lets the log say why (CERT_HAS_EXPIRED, CERT_REVOKED...):
    // with rejectUnauthorized Node drops the socket without reporting the verification error.
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
  };
}

export async function startListener(l: ListenerConfig, hooks: ListenerHooks): Promise<RunningListener> {
  const info: ListenerInfo = { name: l.name, type: l.type, segment: l.segment };
  let server: Server;
  let reloadTls = () => {};
  // A TLS socket reports its TCP socket's peer: how the secure connection finds the socket it runs on.
  const handshaking = new Map<string, Socket>();
  const peer = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  if (l.type === 'tls') {
    if (!l.tls) throw new Error(`listener ${l.name}: tls material missing`);
    const tlsServer = createTlsServer(tlsOptions(l), (s) => {
      if (!s.authorized) {
        const hasCert = Object.keys(s.getPeerCertificate() ?? {}).length > 0;
        const why = hasCert ? String(s.authorizationError ?? 'certificate not verified') : 'no client certificate';
        hooks.refused(info, `tls: ${why}`, s.remoteAddress);
        s.destroy();
        return;
      }
      const raw = handshaking.get(peer(s));
      handshaking.delete(peer(s));
      hooks.accept(s, info, raw ?? s);
    });
    tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, s: TLSSocket) => {
      // Node's link from a TLS socket to the TCP socket it runs on (_tls_wrap.js): once the connection
      // is gone only the latter still knows the peer, and whether the broker itself closed it.
      const raw = tcpSocketUnder(s);
      hooks.refused(info, `tls: ${err.code ?? err.message}`, s?.remoteAddress ?? raw?.remoteAddress, raw);
    });
    reloadTls = () => tlsServer.setSecureContext(tlsOptions(l));
    server = tlsServer;
  } else {
    // The schema already refuses this; checked again so no code path can expose plain MQTT.
    if (!isLoopback(l.host)) throw new Error(`listener ${l.name}: a plain listener is allowed only on loopback, not ${l.host}`);
    server = createTcpServer((s) => {
      if (!isLoopbackAddress(s.localAddress) || !isLoopbackAddress(s.remoteAddress)) {
        hooks.refused(info, 'plain listener reached from a non-loopback address', s.remoteAddress);
        s.destroy();
        return;
      }
      hooks.accept(s, info, s);
    });
  }
  server.maxConnections = hooks.maxSockets;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    // Request/reply traffic of small packets: Nagle's algorithm would hold each reply ~40 ms.
    s.setNoDelay(true);
    sockets.add(s);
    if (l.type === 'tls') handshaking.set(peer(s), s);
    s.once('close', () => {
      sockets.delete(s);
      if (handshaking.get(peer(s)) === s) handshaking.delete(peer(s));
    });
    hooks.opened(s);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new Error(`listener ${l.name}: cannot listen on ${l.host}:${l.port}: ${e.code ?? e.message}`));
    server.once('error', onError);
    // A deep accept queue (the kernel caps it at net.core.somaxconn): a flood that reconnects as fast
    // as it is closed must not fill it, or a real client's SYN is dropped and retried only after 1 s, 3 s...
    server.listen({ port: l.port, host: l.host, backlog: 4096 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return {
    ...info,
    address() {
      const a = server.address();
      if (a === null || typeof a === 'string') return { host: l.host, port: l.port };
      return { host: a.address, port: a.port };
    },
    reloadTls,
    listening: () => server.listening,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Clients were closed by aedes first; what remains never finished CONNECT or the TLS handshake.
        for (const s of sockets) s.destroy();
      }),
  };
}

/** The TCP socket a TLS socket runs on (Node's `_parent`, _tls_wrap.js), if there is one. */
function tcpSocketUnder(s: TLSSocket | undefined): Socket | undefined {
  const parent: unknown = s === undefined ? undefined : Reflect.get(s, '_parent');
  return parent instanceof Socket ? parent : undefined;
}
