// Embedded default on machines with SoftHSM: a token in the data dir (dataDir/hsm/softhsm), created
// on first start with a random user PIN kept in a 0600 file beside it. Software-backed: flagged.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SOFTHSM_MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];
export const DATADIR_TOKEN_LABEL = 'juki-gw';
export const SOFTHSM_WARNING = 'SoftHSM token in the data dir (software-backed) — not for production';

export function softhsmModule(): string | undefined {
  return SOFTHSM_MODULES.find((p) => existsSync(p));
}

/** The token exists but its user PIN file does not: a restore from a backup (PINs never go into one). */
export class DataDirPinMissing extends Error {
  constructor(pinFile: string) {
    super(
      `the data-dir SoftHSM token's user PIN file ${pinFile} is missing: a token restored from a backup comes without its PINs; ` +
        "write the token's user PIN there (mode 0600, see docs/backup.md)",
    );
    this.name = 'DataDirPinMissing';
  }
}

export interface DataDirToken {
  module: string;
  conf: string;
  tokenLabel: string;
  pin: string;
}

/**
 * Prepares the data-dir token. Returns undefined when this process already points SoftHSM at another
 * configuration (SOFTHSM2_CONF is read once, when the module is first loaded).
 */
export function prepareDataDirSoftHsm(dataDir: string, env: NodeJS.ProcessEnv = process.env): DataDirToken | undefined {
  const module = softhsmModule();
  if (!module) return undefined;
  const dir = resolve(dataDir, 'hsm', 'softhsm');
  const conf = join(dir, 'softhsm2.conf');
  if (env.SOFTHSM2_CONF !== undefined && resolve(env.SOFTHSM2_CONF) !== conf) return undefined;
  const tokens = join(dir, 'tokens');
  const pinFile = join(dir, 'user.pin');
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  if (!existsSync(conf))
    writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o600 });
  if (readdirSync(tokens).length === 0) {
    const pin = randomBytes(12).toString('base64url');
    const soPin = randomBytes(12).toString('base64url');
    writeFileSync(pinFile, pin, { mode: 0o600 });
    writeFileSync(join(dir, 'so.pin'), soPin, { mode: 0o600 });
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', DATADIR_TOKEN_LABEL, '--pin', pin, '--so-pin', soPin], {
      env: { ...env, SOFTHSM2_CONF: conf },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  if (!existsSync(pinFile)) throw new DataDirPinMissing(pinFile);
  env.SOFTHSM2_CONF = conf;
  return { module, conf, tokenLabel: DATADIR_TOKEN_LABEL, pin: readFileSync(pinFile, 'utf8').trim() };
}
