// A backup must not carry the keys to its own contents: no PIN file ever goes in, the archive is
// encrypted unless the operator asks for plaintext explicitly (and is told why that is dangerous),
// and it restores onto a new machine — with the data-dir SoftHSM token (PIN supplied by the operator
// there) and with a hardware token that stays where it is (here an external SoftHSM token standing in).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { verifyBackup } from '../../../gateway/backup/index.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../helpers/softhsm.js';
import { spawnAppliance } from '../../helpers/appliance-process.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';
import { jukiGw } from '../../helpers/cli.js';

const run = promisify(execFile);
const tmp = tempDir('jukigw-backup-secrets-');
afterAll(() => tmp.cleanup());
const PASSPHRASE = 'a long backup passphrase, kept off the appliance';
/** Children use the data-dir SoftHSM configuration, never one set for this test process. */
const baseEnv = () => {
  const e = { ...process.env };
  delete e.SOFTHSM2_CONF;
  delete e.JUKIGW_BACKUP_PASSPHRASE;
  return e;
};
const cli = (args: string[], env: NodeJS.ProcessEnv = baseEnv()) => jukiGw(args, { env, timeoutMs: 120_000 });

async function configFor(name: string, dataDir: string, hsm?: string): Promise<string> {
  const file = join(tmp.path, `${name}.yaml`);
  writeFileSync(
    file,
    [
      "municipalities: ['242012']",
      `dataDir: ${dataDir}`,
      `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${await freePort()} }]`,
      `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
      `ui: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }`,
      'limits: { minFreeDiskBytes: 0 }',
      ...(hsm ? [`hsm: ${hsm}`] : []),
      '',
    ].join('\n'),
  );
  return file;
}

/** The kid the running appliance signs with, from its start-up log. */
function signerKid(log: string): string {
  const line = log.split('\n').find((l) => l.includes('"msg":"signer ready"'));
  expect(line, log.slice(-2000)).toBeTruthy();

  return (JSON.parse(line!) as { kid: string }).kid;
}

function filesOf(root: string, dir = root, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (relative(root, p) === 'db') continue;
    if (statSync(p).isDirectory()) filesOf(root, p, out);
    else out.push(relative(root, p));
  }
  return out;
}

describe('backup secrets: data-dir SoftHSM token', () => {
  const dataDir = join(tmp.path, 'old-machine');
  const newDir = join(tmp.path, 'new-machine');
  let config = '';
  let kid = '';
  const enc = join(tmp.path, 'nightly.jgwb');

  beforeAll(async () => {
    config = await configFor('old', dataDir);
    const app = await spawnAppliance(config, baseEnv());
    kid = signerKid(app.log());
    expect(await app.stop()).toBe(0);
    // What the issue found in a default backup: the token with both PIN files, the dev-CA and UI TLS keys.
    for (const f of ['hsm/softhsm/user.pin', 'hsm/softhsm/so.pin', 'ui-tls/ui.key']) expect(filesOf(dataDir)).toContain(f);
  }, 180_000);

  it('refuses to write a backup without an encryption key unless --plaintext is given, and says why', async () => {
    const out = join(tmp.path, 'default.jgwb');
    const r = await cli(['backup', 'create', '--data-dir', dataDir, '--out', out, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backups are encrypted: give --passphrase-file FILE, JUKIGW_BACKUP_PASSPHRASE or --encrypt-to CERT\.pem/);
    expect(existsSync(out)).toBe(false);
    const both = await cli([
      'backup',
      'create',
      '--data-dir',
      dataDir,
      '--out',
      out,
      '--config',
      config,
      '--plaintext',
      '--encrypt-to',
      join(dataDir, 'ui-tls', 'ui.pem'),
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--plaintext .*not with --encrypt-to/);
    const plain = await cli(['backup', 'create', '--data-dir', dataDir, '--out', out, '--config', config, '--plaintext']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/warning: .*NOT encrypted.*whoever holds .* can read/s);
    const names = verifyBackup(readFileSync(out)).manifest.parts.map((p) => p.name);
    expect(names.filter((n) => n.endsWith('.pin'))).toEqual([]);
    expect(names).toContain('hsm/softhsm/softhsm2.conf');
  }, 120_000);

  it('a default nightly backup (passphrase from the environment) has no PIN file and no readable part', async () => {
    const env = { ...baseEnv(), JUKIGW_BACKUP_PASSPHRASE: PASSPHRASE };
    const r = await cli(['backup', 'create', '--data-dir', dataDir, '--out', enc, '--config', config], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/encrypted \(AES-256-GCM, passphrase\)/);
    expect(r.stdout).toMatch(/left out: hsm\/softhsm\/so\.pin, hsm\/softhsm\/user\.pin/);
    const file = readFileSync(enc);
    // No 32-byte run of any data-dir file (keys, certificates, token objects, passwords) is in the file.
    let checked = 0;
    for (const f of filesOf(dataDir)) {
      const data = readFileSync(join(dataDir, f));
      if (data.length < 32) continue;
      for (const at of [0, Math.floor((data.length - 32) / 2), data.length - 32])
        expect(file.includes(data.subarray(at, at + 32)), f).toBe(false);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    for (const s of ['PRIVATE KEY', 'BEGIN', 'directories.tokendir']) expect(file.includes(Buffer.from(s))).toBe(false);
    const v = verifyBackup(file, { decryptWith: { passphrase: Buffer.from(PASSPHRASE) } });
    expect(v.manifest.parts.map((p) => p.name).filter((n) => n.endsWith('.pin'))).toEqual([]);
    expect(v.manifest.parts.some((p) => p.name.startsWith('hsm/softhsm/tokens/'))).toBe(true);
    const noPass = await cli(['backup', 'verify', '--in', enc]);
    expect(noPass.stderr).toMatch(/encrypted with a passphrase: give --passphrase-file FILE or JUKIGW_BACKUP_PASSPHRASE/);
  }, 120_000);

  it('the nightly job (deploy/backup) writes nothing without a recipient or passphrase, and an encrypted backup with one', async () => {
    const outDir = join(tmp.path, 'nightly');
    mkdirSync(outDir);
    const pass = join(tmp.path, 'credential-backup-passphrase');
    writeFileSync(pass, `${PASSPHRASE}\n`, { mode: 0o600 });
    const job = (extra: NodeJS.ProcessEnv) =>
      run('bash', [join(import.meta.dirname, '..', '..', '..', 'deploy', 'backup', 'juki-gw-backup.sh')], {
        env: {
          ...baseEnv(),
          DATA_DIR: dataDir,
          OUT_DIR: outDir,
          CONFIG: config,
          NODE: process.execPath,
          JUKIGW: join(import.meta.dirname, '..', '..', '..', 'bin', 'juki-gw.js'),
          RECIPIENT: join(tmp.path, 'no-recipient.pem'),
          PASSPHRASE_FILE: join(tmp.path, 'no-passphrase'),
          ...extra,
        },
      }).then(
        () => 0,
        (e: { code: number; stderr: string }) => {
          expect(e.stderr).toMatch(/no encryption key: .*no backup written/);
          return e.code;
        },
      );
    expect(await job({})).toBe(1);
    expect(readdirSync(outDir)).toEqual([]);
    expect(await job({ PASSPHRASE_FILE: pass })).toBe(0);
    const [written] = readdirSync(outDir);
    expect(written).toMatch(/^juki-gw-\d{8}T\d{6}Z\.jgwb$/);
    const v = verifyBackup(readFileSync(join(outDir, written!)), { decryptWith: { passphrase: Buffer.from(PASSPHRASE) } });
    expect(v.manifest.parts.filter((p) => p.name.endsWith('.pin'))).toEqual([]);
    expect(() => verifyBackup(readFileSync(join(outDir, written!)))).toThrow(/encrypted with a passphrase/);
  }, 120_000);

  it('restores onto a new machine: the token comes back, the appliance refuses to start until the operator supplies the PIN, then signs with the same key', async () => {
    const cert = join(tmp.path, 'signer.pem');
    writeFileSync(cert, readFileSync(join(dataDir, 'hsm', 'juki-gw-signing.cert.pem')));
    const env = { ...baseEnv(), JUKIGW_BACKUP_PASSPHRASE: PASSPHRASE };
    const r = await cli(['backup', 'restore', '--in', enc, '--data-dir', newDir, '--trust', cert], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /the SoftHSM token was restored without its PIN: write its user PIN to .*hsm\/softhsm\/user\.pin \(mode 0600\)/,
    );
    const newConfig = await configFor('new', newDir);
    await expect(spawnAppliance(newConfig, baseEnv())).rejects.toThrow(
      /user PIN file \S+\/hsm\/softhsm\/user\.pin is missing: a token restored from a backup comes without its PINs/,
    );
    // The operator brings the PIN (kept apart from the backup) to the new machine.
    writeFileSync(join(newDir, 'hsm', 'softhsm', 'user.pin'), readFileSync(join(dataDir, 'hsm', 'softhsm', 'user.pin')), { mode: 0o600 });
    const app = await spawnAppliance(newConfig, baseEnv());
    try {
      expect(signerKid(app.log())).toBe(kid);
      expect(app.log()).not.toMatch(/software key/);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 240_000);
});

describe('backup secrets: hardware token (keys stay in the token)', () => {
  let token: SoftHsmToken;
  const dataDir = join(tmp.path, 'hw-old');
  const newDir = join(tmp.path, 'hw-new');
  let hsm = '';
  const hwEnv = () => ({ ...baseEnv(), SOFTHSM2_CONF: token.conf });

  beforeAll(() => {
    token = createSoftHsmToken({ label: 'hw-token' });
    const pinFile = join(tmp.path, 'hw-pin');
    writeFileSync(pinFile, token.pin, { mode: 0o600 });
    hsm = `{ kind: pkcs11, module: ${token.module}, tokenLabel: hw-token, pin: { file: ${pinFile} } }`;
  });
  afterAll(() => token?.cleanup());

  it('a backup encrypted to a recipient certificate carries no key and no PIN; restored, the appliance starts against the same token', async () => {
    const config = await configFor('hw-old', dataDir, hsm);
    const gen = await cli(['keys', 'generate', '--config', config], hwEnv());
    expect(gen.code, gen.stderr).toBe(0);
    const first = await spawnAppliance(config, hwEnv());
    const kid = signerKid(first.log());
    expect(await first.stop()).toBe(0);
    const ca = join(tmp.path, 'recipient-ca');
    expect((await cli(['pki', 'init', '--dir', ca, '--cn', 'backup recipient CA'])).code).toBe(0);
    const recipient = join(tmp.path, 'recipient');
    expect((await cli(['pki', 'issue', '--dir', ca, '--kind', 'client', '--cn', 'backup-recipient', '--out', recipient])).code).toBe(0);
    const out = join(tmp.path, 'hw.jgwb');
    const c = await cli(
      ['backup', 'create', '--data-dir', dataDir, '--out', out, '--config', config, '--encrypt-to', `${recipient}.pem`],
      hwEnv(),
    );
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/encrypted \(AES-256-GCM, to the recipient certificate\)/);
    const v = verifyBackup(readFileSync(out), { decryptWith: { privateKeyPem: readFileSync(`${recipient}-key.pem`, 'utf8') } });
    const names = v.manifest.parts.map((p) => p.name);
    expect(names.filter((n) => n.startsWith('hsm/softhsm') || n.endsWith('.pin') || n.includes('software-key'))).toEqual([]);
    expect(names).toContain('hsm/juki-gw-signing.cert.pem');
    const r = await cli([
      'backup',
      'restore',
      '--in',
      out,
      '--data-dir',
      newDir,
      '--decrypt-key',
      `${recipient}-key.pem`,
      '--trust',
      join(dataDir, 'hsm', 'juki-gw-signing.cert.pem'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/SoftHSM token was restored/);
    const app = await spawnAppliance(await configFor('hw-new', newDir, hsm), hwEnv());
    try {
      expect(signerKid(app.log())).toBe(kid);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 300_000);
});
