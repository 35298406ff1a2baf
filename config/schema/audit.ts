import { z } from 'zod';
import { messageType } from './common.js';

/** Look-up alarms: bulk or repeated searches by one operator or terminal (大量照会). */
export const lookupAlertSection = z
  .object({
    /** Message types that count as look-ups of personal data. */
    actions: z
      .array(messageType)
      .default(['identity.search', 'identity.verify', 'jlis.inquiry', 'info.query'])
      .describe('Message types that count as look-ups of personal data.'),
    searchesPerMinute: z.number().int().min(1).default(30),
    searchesPerHour: z.number().int().min(1).default(600),
    hitsPerHour: z.number().int().min(1).default(3000),
    /** A single search returning more hits than this is a bulk search. */
    hitsPerSearch: z.number().int().min(1).default(100).describe('A single search returning more hits than this is a bulk search.'),
    /** An alarm stays listed this long after the last exceeding look-up, unless acknowledged. */
    holdSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(3600)
      .describe('An alarm stays listed this long after the last exceeding look-up, unless acknowledged.'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.searchesPerHour < a.searchesPerMinute)
      ctx.addIssue({ code: 'custom', path: ['searchesPerHour'], message: 'must be at least searchesPerMinute' });
  });

export const auditSection = z
  .object({
    /** Operation logs are kept 7 years (住民基本台帳法 practice); older closed segments may be exported then pruned. */
    retentionYears: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(7)
      .describe('Operation logs are kept 7 years (住民基本台帳法 practice); older closed segments may be exported then pruned.'),
    /** A checkpoint signed by the HSM key every N entries… */
    checkpointEvery: z.number().int().min(1).max(1_000_000).default(1000).describe('A checkpoint signed by the HSM key every N entries…'),
    /** …or every T seconds while entries are unsigned. */
    checkpointSeconds: z.number().int().min(1).max(86400).default(60).describe('…or every T seconds while entries are unsigned.'),
    lookupAlerts: lookupAlertSection.default(lookupAlertSection.parse({})),
  })
  .strict();
export type AuditConfig = z.infer<typeof auditSection>;
