import { z } from 'zod';

/** 情報提供等記録: records of information queries and answers (番号法 §23), kept 7 years by default. */
export const provisionSection = z
  .object({
    retentionYears: z.number().int().min(1).max(100).default(7),
    /** How often the appliance deletes records older than the retention period. */
    purgeIntervalHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(24)
      .describe('How often the appliance deletes records older than the retention period.'),
  })
  .strict();
export type ProvisionConfig = z.infer<typeof provisionSection>;
