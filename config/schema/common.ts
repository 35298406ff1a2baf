import { z } from 'zod';
import { isNodeAddress, isValidLgCode } from '../../domain/identifiers.js';

export const port = z
  .number({ message: 'expected 1..65535' })
  .int('expected 1..65535')
  .min(1, 'expected 1..65535')
  .max(65535, 'expected 1..65535');

/** 全国地方公共団体コード with its check digit. */
export const lgCode = z
  .string()
  .regex(/^[0-9]{6}$/, 'expected 6 digits')
  .refine(isValidLgCode, 'check digit does not match (全国地方公共団体コード)');

export const nodeAddress = z
  .string()
  .refine(isNodeAddress, 'expected a node address: lg:{code} | pref:{code} | national | card | ims:{code} | nws');

/** Path of a file holding key material or a secret; the secret itself never sits in the config. */
export const filePath = z.string().min(1, 'expected a file path');

export const systemId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ - (the certificate CN)');

export const messageType = z
  .string()
  .regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*$/, 'expected a dotted message type such as identity.update');

export const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Secrets are named by where they live (a file or an environment variable), never inlined. */
export const secretRef = z
  .object({
    file: filePath.optional(),
    env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
      .optional(),
  })
  .strict()
  .refine((s) => s.file !== undefined || s.env !== undefined, 'give file or env');
export type SecretRef = z.infer<typeof secretRef>;
