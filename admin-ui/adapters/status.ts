// Dashboard figures read from the running components: broker clients and message counts, uplink
// link state, disk space, certificate expiry from the configured PEM files, the signer's token.
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { Aedes, Client } from 'aedes';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type {} from '../../broker/aedesInternals.js';
import type { BrokerHandle } from '../../broker/server.js';
import type { Uplink } from '../../gateway/uplink/index.js';
import type { Signer } from '../../hsm/types.js';
import type { CertificateInfo, CertificateOf, ConnectedClient, DiskStatus, LinkStatus, RateBucket } from '../services.js';

const MINUTE = 60_000;

/** Per-minute inbound/outbound message counts over the last hour, fed by aedes events. */
export function messageRateCounter(aedes: Aedes, now: () => number = Date.now) {
  const buckets = new Map<number, RateBucket>();
  const bump = (k: 'inbound' | 'outbound') => {
    const start = Math.floor(now() / MINUTE) * MINUTE;
    let b = buckets.get(start);
    if (!b) {
      b = { startMs: start, inbound: 0, outbound: 0 };
      buckets.set(start, b);
      for (const key of buckets.keys()) if (key < start - 60 * MINUTE) buckets.delete(key);
    }
    b[k]++;
  };
  // `publish` fires for every message the broker routes; client === null for internal ones ($SYS, ours).
  const onPublish = (packet: { topic: string }, client: Client | null) => {
    if (client && !packet.topic.startsWith('$SYS')) bump('inbound');
  };
  const onAck = () => bump('outbound');
  aedes.on('publish', onPublish);
  aedes.on('ack', onAck);
  return {
    async rates(): Promise<RateBucket[]> {
      const end = Math.floor(now() / MINUTE) * MINUTE;
      const out: RateBucket[] = [];
      for (let t = end - 59 * MINUTE; t <= end; t += MINUTE) out.push(buckets.get(t) ?? { startMs: t, inbound: 0, outbound: 0 });
      return out;
    },
    stop() {
      aedes.off('publish', onPublish);
      aedes.off('ack', onAck);
    },
  };
}

/**
 * Clients currently connected to the broker, with the identity the broker authenticated and, given the
 * configured listener names, the listener they came in on (by the socket's local port).
 */
export function connectedClients(broker: BrokerHandle, listenerNames: () => string[] = () => []): () => Promise<ConnectedClient[]> {
  const since = new Map<string, string>();
  broker.aedes.on('client', (c) => since.set(c.id, new Date().toISOString()));
  broker.aedes.on('clientDisconnect', (c) => since.delete(c.id));
  const listenerOnPort = () => {
    const byPort = new Map<number, string>();
    for (const name of listenerNames()) {
      try {
        byPort.set(broker.address(name).port, name);
      } catch {
        /* not (yet) listening */
      }
    }
    return byPort;
  };
  return async () => {
    const clients = broker.aedes.clients;
    const byPort = listenerOnPort();
    return Object.values(clients)
      .filter((c) => c.connected !== false)
      .map((c) => {
        const who = broker.identityOf(c);
        const out: ConnectedClient = { clientId: c.id };
        if (who?.systemId) out.systemId = who.systemId;
        if (who) out.role = who.role;
        const port = (c.conn as { localPort?: number } | undefined)?.localPort;
        const listener = port === undefined ? undefined : byPort.get(port);
        if (listener) out.listener = listener;
        const at = since.get(c.id);
        if (at) out.connectedAt = at;
        return out;
      });
  };
}

export function linkStatus(uplink: Uplink): () => Promise<LinkStatus[]> {
  return async () => {
    const q = uplink.queueStats();
    return uplink.linkStatus().map((l) => ({
      name: l.name,
      url: l.url,
      connected: l.state === 'up',
      detail: `${l.state} since ${l.since}${l.lastError ? ` (${l.lastError})` : ''}`,
      state: l.state,
      since: l.since,
      ...(l.lastError ? { lastError: l.lastError } : {}),
      queueDepth: q[l.name]?.depth ?? 0,
      oldestAgeMs: q[l.name]?.oldestAgeMs ?? 0,
      deadLetters: q[l.name]?.dead ?? 0,
    }));
  };
}

/** `minFreeBytes` read per call: limits are applied live. */
export function diskStatus(path: string, minFreeBytes: () => number): () => Promise<DiskStatus> {
  return async () => {
    const s = await statfs(path);
    return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, minFreeBytes: minFreeBytes() };
  };
}

/** Expiry of every certificate file the configuration names (listeners, UI, signing, trust anchors). */
export function certificateExpiry(config: () => ApplianceConfig, now: () => number = Date.now): () => Promise<CertificateInfo[]> {
  return async () => {
    const c = config();
    const files: [string, string, CertificateOf][] = [
      ...c.listeners.flatMap((l) =>
        l.tls ? [[`listener ${l.name}`, l.tls.cert, { kind: 'listener', name: l.name }] as [string, string, CertificateOf]] : [],
      ),
      ...(c.ui.tls ? [['admin UI', c.ui.tls.cert, { kind: 'adminUi' }] as [string, string, CertificateOf]] : []),
      ...(c.hsm.certFile
        ? [['signing certificate', c.hsm.certFile, { kind: 'signingCertificate' }] as [string, string, CertificateOf]]
        : []),
      ...c.trust.anchors.map((f) => [`trust anchor ${f}`, f, { kind: 'trustAnchor', name: f }] as [string, string, CertificateOf]),
      ...c.upstreams.flatMap((u) =>
        u.tls ? [[`uplink ${u.name}`, u.tls.cert, { kind: 'uplink', name: u.name }] as [string, string, CertificateOf]] : [],
      ),
    ];
    const out: CertificateInfo[] = [];
    for (const [label, file, of] of files) {
      try {
        const x = new X509Certificate(readFileSync(file));
        const notAfter = new Date(x.validTo);
        out.push({
          label,
          of,
          subject: x.subject.replace(/\n/g, ', '),
          notAfter: notAfter.toISOString(),
          daysLeft: Math.floor((notAfter.getTime() - now()) / 86_400_000),
        });
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        out.push({
          label: `${label} (unreadable: ${why})`,
          of,
          unreadable: why,
          subject: file,
          notAfter: '—',
          daysLeft: -1,
        });
      }
    }
    return out;
  };
}

export function signerCertificate(signer: Signer, now: () => number = Date.now): CertificateInfo {
  const x = new X509Certificate(signer.certificateDer);
  const notAfter = new Date(x.validTo);
  return {
    label: `signing key ${signer.kid}`,
    of: { kind: 'signingKey', name: signer.kid },
    subject: x.subject.replace(/\n/g, ', '),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now()) / 86_400_000),
  };
}
