import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { ApplianceConfig } from './schema/index.js';

/**
 * Creates missing password files of local systems when they live inside the data dir (the embedded
 * default's development passwords): random, mode 0600. Files named elsewhere are the operator's to
 * provide; a secret is never invented outside the appliance's own directory.
 */
export function ensureDevPasswords(config: ApplianceConfig): string[] {
  const dataDir = resolve(config.dataDir);
  const created: string[] = [];
  for (const s of config.systems) {
    const file = s.password?.file;
    if (!file) continue;
    const abs = resolve(file);
    const rel = relative(dataDir, abs);
    if (rel.startsWith('..') || rel === '' || existsSync(abs)) continue;
    mkdirSync(dirname(abs), { recursive: true, mode: 0o700 });
    writeFileSync(abs, randomBytes(18).toString('base64url') + '\n', { mode: 0o600 });
    created.push(abs);
  }
  return created;
}
