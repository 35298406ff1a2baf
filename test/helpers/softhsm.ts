// Throwaway SoftHSM2 tokens for tests. pkcs11js loads the module in-process and SoftHSM reads
// SOFTHSM2_CONF once, so every token of one test file (one vitest fork) shares one token directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const SOFTHSM_MODULE =
  ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'].find(
    (p) => existsSync(p),
  ) ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  module: string;
  label: string;
  pin: string;
  soPin: string;
  /** Slot ID SoftHSM assigned to the token. */
  slot: number;
  /** The token directory shared by this process's tokens. */
  tokenDir: string;
  /** This token's own folder in it (remove it to simulate a lost token). */
  path: string;
  conf: string;
  cleanup(): void;
}

let shared: { root: string; tokenDir: string; conf: string } | undefined;

function sharedDir() {
  if (shared) return shared;
  const root = mkdtempSync(join(tmpdir(), 'softhsm-'));
  const tokenDir = join(root, 'tokens');
  mkdirSync(tokenDir);
  const conf = join(root, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  shared = { root, tokenDir, conf };
  return shared;
}

/** Creates a fresh token (create tokens before the first PKCS#11 module load in the file). */
export function createSoftHsmToken(opts: { label?: string; pin?: string } = {}): SoftHsmToken {
  const { root, tokenDir, conf } = sharedDir();
  const label = opts.label ?? `t-${randomBytes(4).toString('hex')}`;
  const pin = opts.pin ?? randomBytes(6).toString('hex');
  const soPin = randomBytes(6).toString('hex');
  const before = new Set(readdirSync(tokenDir));
  const out = execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    encoding: 'utf8',
  });
  const m = /reassigned to slot (\d+)/.exec(out);
  if (!m) throw new Error(`softhsm2-util did not report a slot: ${out}`);
  const own = readdirSync(tokenDir).find((d) => !before.has(d));
  if (!own) throw new Error('softhsm2-util created no token folder');
  return {
    module: SOFTHSM_MODULE,
    label,
    pin,
    soPin,
    slot: Number(m[1]),
    tokenDir,
    path: join(tokenDir, own),
    conf,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
