// The data dir holds residents' data, keys, the token and passwords: owner-only. One the appliance makes
// is 0700; one an operator made is left as it is, but a looser mode is reported at every start.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '../log/logger.js';

export function prepareDataDir(dataDir: string, logger: Logger): void {
  const path = resolve(dataDir);
  if (!existsSync(path)) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    logger.warn(
      { path, mode: mode.toString(8).padStart(4, '0') },
      'data dir is open to other users (group/other permission bits set); it holds personal data and keys: chmod 0700 it',
    );
  }
}
