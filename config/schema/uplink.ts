import { z } from 'zod';
import { filePath, messageType, nodeAddress } from './common.js';

export const upstream = z
  .object({
    name: z.string().min(1),
    url: z.string().regex(/^(mqtts?|tcp|ssl):\/\/[^\s]+$/, 'expected mqtt://host:port or mqtts://host:port'),
    /** Node addresses reached through this broker; `lg:*` matches every municipality, `*` any node. */
    nodes: z
      .array(z.union([nodeAddress, z.enum(['*', 'lg:*', 'pref:*', 'ims:*'])]))
      .min(1)
      .describe('Node addresses reached through this broker; lg:* matches every municipality, * any node.'),
    clientId: z.string().optional(),
    tls: z.object({ cert: filePath, key: filePath, ca: filePath }).strict().optional(),
  })
  .strict();
export type UpstreamConfig = z.infer<typeof upstream>;

export const uplinkSection = z
  .object({
    defaultTimeoutMs: z.number().int().min(100).default(30_000),
    timeoutsMs: z.record(messageType, z.number().int().min(100)).default({}),
    retry: z
      .object({
        initialMs: z.number().int().min(10).default(1000),
        maxMs: z
          .number()
          .int()
          .min(10)
          .default(5 * 60_000),
        maxAttempts: z.number().int().min(1).default(20),
      })
      .strict()
      .default({ initialMs: 1000, maxMs: 300_000, maxAttempts: 20 }),
    /** Parallel partitions in flight per link. */
    parallelism: z.number().int().min(1).max(1024).default(256).describe('Parallel partitions in flight per link.'),
  })
  .strict();
