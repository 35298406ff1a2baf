import { z } from 'zod';
import { filePath, isLoopback, messageType, port, secretRef, systemId } from './common.js';

export const tlsMaterial = z
  .object({
    cert: filePath,
    key: filePath,
    /** CA bundle that client certificates must chain to. */
    ca: filePath.describe('CA bundle that client certificates must chain to.'),
    /** CRL file(s) (PEM); revoked client certificates are refused. */
    crl: z.array(filePath).default([]).describe('CRL file(s) (PEM); revoked client certificates are refused.'),
  })
  .strict();

export const listener = z
  .object({
    name: z.string().min(1).describe('Unique listener name (used by the UI and in logs)'),
    type: z.enum(['tls', 'plain']).describe('tls: mTLS with client certificates; plain: loopback only (development)'),
    host: z.string().min(1).describe('Address to bind'),
    port,
    /** Which network segment the listener serves: the number-linkage segment is kept apart (GW). */
    segment: z
      .enum(['local', 'number-linkage'])
      .default('local')
      .describe('Which network segment the listener serves: the number-linkage segment is kept apart (GW).'),
    tls: tlsMaterial.optional(),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.type === 'plain' && !isLoopback(l.host)) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'a plain listener is allowed only on loopback (127.0.0.0/8, ::1)' });
    }
    if (l.type === 'tls' && !l.tls) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'required for a tls listener' });
  });
export type ListenerConfig = z.infer<typeof listener>;

export const ROLE_NAMES = ['resident-register', 'terminal', 'number-linkage', 'business', 'monitor'] as const;

export const role = z
  .object({
    /** Message types this role may publish on req/{type}. */
    send: z.array(messageType).default([]).describe('Message types this role may publish on req/{type}.'),
    /** Standalone broker mode only: arbitrary topic grants (MQTT filters). */
    topics: z
      .object({
        publish: z.array(z.string().min(1)).default([]),
        subscribe: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RoleConfig = z.infer<typeof role>;

export const localSystem = z
  .object({
    id: systemId,
    role: z.string().min(1).describe('A role defined in roles'),
    enabled: z.boolean().default(true),
    description: z.string().default(''),
    /** Password for the loopback plain listener (development); TLS listeners authenticate by certificate. */
    password: secretRef
      .optional()
      .describe('Password for the loopback plain listener (development); TLS listeners authenticate by certificate.'),
    /** Pins the one client certificate this system may use; another certificate with the same CN from the same CA is refused. */
    certificateSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected the SHA-256 fingerprint of the certificate (DER) as 64 hex characters')
      .optional()
      .describe(
        'SHA-256 fingerprint (64 hex characters) of the DER client certificate registered for this system. When set, a TLS client must present exactly this certificate (besides chaining to the listener CA with CN = id). Set by the admin UI on upload or dev-CA issuance.',
      ),
  })
  .strict();
export type LocalSystemConfig = z.infer<typeof localSystem>;

/** Connections not authenticated yet: their own budget, never counted against maxConnections. */
/** The longest limits.preAuth.connectTimeoutMs (aedes' own fixed CONNECT deadline is set to it: broker/server.ts). */
export const MAX_CONNECT_TIMEOUT_MS = 120_000;

export const preAuthLimits = z
  .object({
    maxTotal: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(256)
      .describe(
        'Connections not yet authenticated (TCP accepted; TLS handshake, CONNECT and login still to come), all listeners together. They never count against maxConnections. At the bound a new one is let in and the idlest one of the source address holding the most is closed: one that sent nothing (or has not finished its TLS handshake) first, then one with no CONNECT yet, oldest first.',
      ),
    maxPerAddress: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(64)
      .describe(
        'The same bound per source address: at it, the idlest unauthenticated connection of that address is closed (same order as maxTotal).',
      ),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(MAX_CONNECT_TIMEOUT_MS)
      .default(5000)
      .describe('From TCP accept to an authenticated CONNECT (TLS handshake included): a connection not authenticated by then is closed.'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.maxPerAddress > p.maxTotal)
      ctx.addIssue({ code: 'custom', path: ['maxPerAddress'], message: `must not exceed maxTotal (${p.maxTotal})` });
  });
export type PreAuthLimits = z.infer<typeof preAuthLimits>;

/** Backoff after failed passwords (plain listener), per system and per source address. */
export const authFailureLimits = z
  .object({
    allowed: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('Failed logins in a row allowed per system and per source address before the backoff starts.'),
    backoffMs: z
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .default(1000)
      .describe(
        'First backoff: logins of that system, and from that address, are refused unchecked (CONNACK 5) for this long; it doubles with each further failure.',
      ),
    maxBackoffMs: z.number().int().min(1).max(86_400_000).default(60_000).describe('Upper bound of the doubling backoff.'),
    forgetAfterMs: z
      .number()
      .int()
      .min(1000)
      .max(86_400_000)
      .default(600_000)
      .describe(
        'A system or address with no login attempt for this long starts afresh; its burst of failures is then summarized in the audit log.',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.maxBackoffMs < a.backoffMs)
      ctx.addIssue({ code: 'custom', path: ['maxBackoffMs'], message: `must be at least backoffMs (${a.backoffMs})` });
    if (a.forgetAfterMs < a.maxBackoffMs)
      ctx.addIssue({ code: 'custom', path: ['forgetAfterMs'], message: `must be at least maxBackoffMs (${a.maxBackoffMs})` });
  });
export type AuthFailureLimits = z.infer<typeof authFailureLimits>;

export const limits = z
  .object({
    maxPayloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .default(1024 * 1024),
    maxConnections: z.number().int().min(1).default(1000),
    /** Per-client QoS 1 messages in flight towards the client. */
    maxInflight: z.number().int().min(1).max(65535).default(100).describe('Per-client QoS 1 messages in flight towards the client.'),
    /** Per-client offline queue bound; publishes that would overflow it are refused (no PUBACK), never dropped. */
    maxOfflineQueue: z
      .number()
      .int()
      .min(1)
      .default(1_000_000)
      .describe('Per-client offline queue bound; publishes that would overflow it are refused (no PUBACK), never dropped.'),
    /** Raise the queue alarm when a queue reaches this fraction of its bound. */
    offlineQueueAlarmRatio: z
      .number()
      .gt(0)
      .max(1)
      .default(0.8)
      .describe('Raise the queue alarm when a queue reaches this fraction of its bound.'),
    /** Refuse new publishes when free disk space drops below this many bytes. */
    minFreeDiskBytes: z
      .number()
      .int()
      .min(0)
      .default(512 * 1024 * 1024)
      .describe('Refuse new publishes when free disk space drops below this many bytes.'),
    preAuth: preAuthLimits.default(preAuthLimits.parse({})),
    authFailures: authFailureLimits.default(authFailureLimits.parse({})),
  })
  .strict();
export type LimitsConfig = z.infer<typeof limits>;

export const brokerSection = z
  .object({
    /** appliance: contract ACL (req/res/to). standalone: roles may also be granted arbitrary topics. */
    mode: z
      .enum(['appliance', 'standalone'])
      .default('appliance')
      .describe('appliance: contract ACL (req/res/to). standalone: roles may also be granted arbitrary topics.'),
    /** Standalone mode: role given to clients that present no credentials on the loopback plain listener. */
    anonymousRole: z
      .string()
      .optional()
      .describe('Standalone mode: role given to clients that present no credentials on the loopback plain listener.'),
    /**
     * true: every write that precedes an acknowledgement (PUBACK, reply, upstream ack) is fsynced first
     * (power-loss safety; group commit shares one fsync among concurrent writes). false: process-crash
     * safety only — a power cut can lose what was already acknowledged.
     */
    syncWrites: z
      .boolean()
      .default(true)
      .describe(
        'true: every write that precedes an acknowledgement (PUBACK, reply, upstream ack) is fsynced first: power-loss safety (group commit shares one fsync among concurrent writes). false: process-crash safety only: writes are left to the OS page cache, and a power cut can lose messages and changes already acknowledged.',
      ),
  })
  .strict();
