import { readFileSync } from 'node:fs';
import type { SecretRef } from './schema/common.js';

export class SecretError extends Error {}

/** Reads a secret from its file or environment variable. The value is never logged or echoed. */
export function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.env !== undefined) {
    const v = env[ref.env];
    if (v !== undefined && v !== '') return v;
    if (ref.file === undefined) throw new SecretError(`secret: environment variable ${ref.env} is not set`);
  }
  try {
    return readFileSync(ref.file!, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new SecretError(`secret: cannot read file ${ref.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
