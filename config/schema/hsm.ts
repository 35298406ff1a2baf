import { z } from 'zod';
import { filePath, secretRef } from './common.js';

export const hsmSection = z
  .object({
    /** auto: SoftHSM token in the data dir when libsofthsm2.so is present, else a software key. */
    kind: z
      .enum(['auto', 'pkcs11', 'software'])
      .default('auto')
      .describe('auto: SoftHSM token in the data dir when libsofthsm2.so is present, else a software key.'),
    module: filePath.optional(),
    tokenLabel: z.string().min(1).max(32).optional(),
    slot: z.number().int().min(0).optional(),
    /** User PIN: from a file or an environment variable only. */
    pin: secretRef.optional().describe('User PIN: from a file or an environment variable only.'),
    keyLabel: z.string().min(1).default('juki-gw-signing'),
    /** CKA_ID (hex) when several keys share a label. */
    keyId: z
      .string()
      .regex(/^([0-9a-fA-F]{2})+$/, 'expected hex bytes')
      .optional()
      .describe('CKA_ID (hex) when several keys share a label.'),
    algorithm: z.enum(['ES256', 'PS256', 'RS256']).default('ES256'),
    /** Parallel PKCS#11 sessions for signing. */
    sessions: z.number().int().min(1).max(64).default(4).describe('Parallel PKCS#11 sessions for signing.'),
    /** ES256 on PKCS#11: a signing thread per session (C_SignInit is synchronous in pkcs11js). */
    signingThreads: z
      .boolean()
      .default(true)
      .describe(
        "ES256 on PKCS#11: a signing thread per session (at most 16; ≈ 10 MB each) runs C_SignInit + C_Sign off the main thread (pkcs11js offers C_SignInit only synchronously). false: the main thread, C_Sign on libuv's pool.",
      ),
    /** Our signing certificate and its chain (PEM). */
    certFile: filePath.optional().describe('Our signing certificate and its chain (PEM).'),
    chainFile: filePath.optional(),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.kind === 'pkcs11') {
      if (!h.module) ctx.addIssue({ code: 'custom', path: ['module'], message: 'required when kind is pkcs11' });
      if (h.tokenLabel === undefined && h.slot === undefined)
        ctx.addIssue({ code: 'custom', path: ['tokenLabel'], message: 'give tokenLabel or slot' });
      if (!h.pin) ctx.addIssue({ code: 'custom', path: ['pin'], message: 'required when kind is pkcs11 (file or env)' });
    }
  });
export type HsmConfig = z.infer<typeof hsmSection>;

export const trustSection = z
  .object({
    /** PEM files of the CAs that upstream nodes' signing certificates chain to. */
    anchors: z.array(filePath).default([]),
    crl: z.array(filePath).default([]),
    /** PEM files of known upstream signers' certificates (looked up by kid; they must chain to anchors). */
    peers: z.array(filePath).default([]),
    /** Also accept a signer certificate carried in the JWS `x5c` header, validated to the anchors. */
    acceptX5c: z.boolean().default(true),
    /** Receivers reject messages whose `at` is outside ±this many seconds (upstream messages, and local requests that carry `at`). */
    replayWindowSeconds: z
      .number()
      .int()
      .min(1)
      .max(86400)
      .default(300)
      .describe('Receivers reject messages whose at is outside ±this many seconds: upstream messages, and local requests that carry at.'),
    /** How long seen message ids are remembered for deduplication, and replies to local requests kept for resends. */
    dedupeWindowSeconds: z
      .number()
      .int()
      .min(60)
      .default(7 * 86400)
      .describe(
        'How long seen message ids are remembered for deduplication; also how long the reply to a local request is kept to answer a resend of its id.',
      ),
  })
  .strict();
