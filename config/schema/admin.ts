import { z } from 'zod';
import { filePath, isLoopback, port } from './common.js';

export const adminSection = z
  .object({
    /** /healthz, /readyz, /metrics: loopback only. */
    host: z
      .string()
      .default('127.0.0.1')
      .refine(isLoopback, 'the admin port is allowed only on loopback')
      .describe('/healthz, /readyz, /metrics: loopback only.'),
    port: port.default(9464),
  })
  .strict();

export const uiSection = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1'),
    port: port.default(8443),
    tls: z.object({ cert: filePath, key: filePath }).strict().optional(),
    sessionIdleMinutes: z.number().int().min(1).max(240).default(15),
    /** Every time shown in the admin UI is in this zone (with its offset); the API stays in UTC. */
    timeZone: z
      .string()
      .default('Asia/Tokyo')
      .refine(isIanaZone, 'expected an IANA time zone such as Asia/Tokyo or UTC')
      .describe(
        'Time zone of every time shown in the admin UI (IANA name, e.g. Asia/Tokyo, UTC); the JSON API gives ISO-8601 times with their offset: UTC, but for audit entries and consistency runs, which carry the offset they were recorded with.',
      ),
  })
  .strict();

function isIanaZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const logSection = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .strict();
