// Backup and restore of a data dir: real LevelDB written through the audit store, the data-dir
// SoftHSM signer via the CLI, every encryption mode, and one changed byte anywhere → refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { toPem } from '../../../hsm/index.js';
import { openApplianceDb, SUBLEVELS } from '../../../platform/store/db.js';
import { createAuditLog } from '../../../gateway/audit/index.js';
import { BackupRefused, createBackup, restoreBackup, signParts, verifyBackup, type Part } from '../../../gateway/backup/index.js';
import { sealContainer } from '../../../gateway/backup/container.js';
import { lookup, testSigner } from '../audit/audit-helpers.js';
import { tempDir } from '../../helpers/tmp.js';
import { jukiGw } from '../../helpers/cli.js';

const cli = (...args: string[]) => jukiGw(args);

const tmp = tempDir('jukigw-backup-');
const dataDir = join(tmp.path, 'data');
const config = join(tmp.path, 'juki-gw.yaml');

async function allRecords(dbDir: string): Promise<Map<string, string>> {
  const db = new ClassicLevel<Buffer, Buffer>(dbDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const m = new Map<string, string>();
  for await (const [k, v] of db.iterator()) m.set(k.toString('hex'), v.toString('hex'));
  await db.close();
  return m;
}

function allFiles(root: string, dir = root, out = new Map<string, { hex: string; mode: number }>()) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (relative(root, p) === 'db') continue;
    if (statSync(p).isDirectory()) allFiles(root, p, out);
    else out.set(relative(root, p), { hex: readFileSync(p).toString('hex'), mode: statSync(p).mode & 0o777 });
  }
  return out;
}

beforeAll(async () => {
  writeFileSync(config, `municipalities: ['242012']\ndataDir: ${dataDir}\n`);
  // The data-dir SoftHSM token and signing key, as a first start makes them.
  const gen = await cli('keys', 'selfsign', '--config', config);
  expect(gen.code, gen.stderr).toBe(0);
  const db = await openApplianceDb(join(dataDir, 'db'));
  const audit = await createAuditLog({ db, signer: await testSigner(), checkpointEvery: 5, checkpointSeconds: 3600 });
  for (let i = 1; i <= 12; i++) await audit.append(lookup(i));
  await audit.close();
  const b = db.batch();
  for (let i = 0; i < 300; i++) b.put(`k${i}`, new Uint8Array([i & 255, 0, 255, 7]), { sublevel: db.sublevel(SUBLEVELS.outbox) as never });
  b.put('binary', new Uint8Array(4096).fill(0xfe), { sublevel: db.sublevel(SUBLEVELS.identity) as never });
  await b.write();
  await db.close();
  mkdirSync(join(dataDir, 'dev-passwords'));
  writeFileSync(join(dataDir, 'dev-passwords', 'rr-01'), 'not-a-real-password\n');
  chmodSync(join(dataDir, 'dev-passwords', 'rr-01'), 0o600);
}, 60_000);
afterAll(() => tmp.cleanup());

describe('backup create / restore (CLI, data-dir SoftHSM signer)', () => {
  const out = join(tmp.path, 'plain.jgwb');
  const cert = () => join(dataDir, 'hsm', 'juki-gw-signing.cert.pem');

  it('restores every record and file (contents and modes) into a new data dir', async () => {
    // What the data dir held when the snapshot was taken (the signer's session later touches the token files).
    const asTaken = join(tmp.path, 'as-taken');
    cpSync(dataDir, asTaken, { recursive: true });
    const c = await cli('backup', 'create', '--data-dir', dataDir, '--out', out, '--config', config, '--plaintext');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/backup written to .*parts, \d+ bytes, signed by kid/);
    const target = join(tmp.path, 'restored');
    const r = await cli('backup', 'restore', '--in', out, '--data-dir', target, '--trust', cert());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/restored \d+ database records and \d+ files .*pinned by --trust/);
    const before = await allRecords(join(dataDir, 'db'));
    expect(before.size).toBeGreaterThan(300);
    expect(await allRecords(join(target, 'db'))).toEqual(before);
    const files = allFiles(asTaken);
    const restored = allFiles(target);
    expect([...files.keys()].some((f) => f.startsWith('hsm/softhsm/tokens/'))).toBe(true);
    // The SoftHSM configuration is the one file restore adapts: it names its token folder by path.
    const conf = 'hsm/softhsm/softhsm2.conf';
    expect(Buffer.from(restored.get(conf)!.hex, 'hex').toString()).toContain(
      `directories.tokendir = ${join(target, 'hsm', 'softhsm', 'tokens')}`,
    );
    files.delete(conf);
    restored.delete(conf);
    // PIN files never go into a backup.
    for (const pin of ['hsm/softhsm/user.pin', 'hsm/softhsm/so.pin']) expect(files.delete(pin)).toBe(true);
    expect(restored).toEqual(files);
    // The restored data dir still opens as the appliance's db and holds the audit chain.
    const db = await openApplianceDb(join(target, 'db'));
    const n = (await db.sublevel(SUBLEVELS.audit).keys().all()).length;
    await db.close();
    expect(n).toBeGreaterThanOrEqual(12);
    // The restored token signs with the same key once its PIN is back: a backup of the restored dir carries the same kid.
    cpSync(join(asTaken, 'hsm', 'softhsm', 'user.pin'), join(target, 'hsm', 'softhsm', 'user.pin'));
    const again = await cli('backup', 'create', '--data-dir', target, '--out', join(tmp.path, 'again.jgwb'), '--plaintext');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(/signed by kid (\S+)/.exec(c.stdout)![1]);
  });

  it('refuses a non-empty data dir without --force; with --force moves the old one aside', async () => {
    const r = await cli('backup', 'restore', '--in', out, '--data-dir', dataDir, '--trust', cert());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused: .* is not empty: .*--force/);
    const target = join(tmp.path, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'old.txt'), 'old');
    const f = await cli('backup', 'restore', '--in', out, '--data-dir', target, '--force', '--trust', cert());
    expect(f.code, f.stderr).toBe(0);
    const aside = /previous contents moved to (\S+)/.exec(f.stdout)?.[1];
    expect(aside && readFileSync(join(aside, 'old.txt'), 'utf8')).toBe('old');
    expect(existsSync(join(target, 'old.txt'))).toBe(false);
  });

  it('refuses a signer that no --trust certificate names, and warns when nothing is pinned', async () => {
    const other = join(tmp.path, 'other.pem');
    writeFileSync(other, toPem((await testSigner('CN=someone else')).certificateDer));
    const r = await cli('backup', 'verify', '--in', out, '--trust', other);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused: backup signed by .*juki-gw.*which no --trust certificate names or issued/);
    const u = await cli('backup', 'verify', '--in', out);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/warning: signer not pinned/);
  });

  it('passphrase encryption: restores with the passphrase, refuses without or with a wrong one', async () => {
    const pass = join(tmp.path, 'pass');
    const wrong = join(tmp.path, 'wrong');
    writeFileSync(pass, 'correct horse battery staple\n');
    writeFileSync(wrong, 'incorrect horse battery staple\n');
    const enc = join(tmp.path, 'pass.jgwb');
    expect((await cli('backup', 'create', '--data-dir', dataDir, '--out', enc, '--passphrase-file', pass, '--config', config)).code).toBe(
      0,
    );
    expect(readFileSync(enc).includes(Buffer.from('not-a-real-password'))).toBe(false);
    const none = await cli('backup', 'verify', '--in', enc, '--trust', cert());
    expect(none.stderr).toMatch(/encrypted with a passphrase: give --passphrase-file/);
    const bad = await cli('backup', 'verify', '--in', enc, '--passphrase-file', wrong, '--trust', cert());
    expect(bad.stderr).toMatch(/decryption failed: wrong key or passphrase/);
    const target = join(tmp.path, 'from-pass');
    const ok = await cli('backup', 'restore', '--in', enc, '--data-dir', target, '--passphrase-file', pass, '--trust', cert());
    expect(ok.code, ok.stderr).toBe(0);
    expect(await allRecords(join(target, 'db'))).toEqual(await allRecords(join(dataDir, 'db')));
  });
});

describe('backup library: public-key encryption and tampering', () => {
  let signer: Awaited<ReturnType<typeof testSigner>>;
  let plain: Buffer;
  beforeAll(async () => {
    signer = await testSigner('CN=juki-gw backup test');
    plain = (await createBackup({ dataDir, signer, plaintext: true })).file;
  });
  const trust = () => [new X509Certificate(signer.certificateDer)];

  for (const kind of ['rsa', 'ec', 'x25519'] as const) {
    it(`encrypts to an ${kind} public key; only its private key opens it`, async () => {
      const keys =
        kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : kind === 'ec'
            ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
            : generateKeyPairSync('x25519');
      const pem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const { file } = await createBackup({ dataDir, signer, encryptTo: { publicKeyPem: pem } });
      const priv = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      const v = verifyBackup(file, { decryptWith: { privateKeyPem: priv }, trust: trust() });
      expect(v.pinned).toBe(true);
      const otherPriv = (
        kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : kind === 'ec'
            ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
            : generateKeyPairSync('x25519')
      ).privateKey
        .export({ format: 'pem', type: 'pkcs8' })
        .toString();
      expect(() => verifyBackup(file, { decryptWith: { privateKeyPem: otherPriv } })).toThrow(/unwrap the backup key|decryption failed/);
    });
  }

  it('one changed byte in any part, the manifest or the header is refused with the reason, before writing', async () => {
    const v = verifyBackup(plain, { trust: trust() });
    const magic = 16;
    const headerLen = plain.readUInt32BE(magic);
    const archiveAt = magic + 4 + headerLen;
    const manifestLen = plain.readUInt32BE(archiveAt);
    let at = archiveAt + 4 + manifestLen;
    const flip = (i: number) => {
      const c = Buffer.from(plain);
      c[i]! ^= 0x01;
      return c;
    };
    let checked = 0;
    for (const p of v.manifest.parts) {
      if (p.size === 0) continue;
      for (const off of [0, Math.floor(p.size / 2), p.size - 1]) {
        expect(() => verifyBackup(flip(at + off), { trust: trust() })).toThrow(
          new RegExp(`part "${p.name.replace(/[.+]/g, '\\$&')}" is corrupt: SHA-256`),
        );
        checked++;
      }
      at += p.size;
    }
    expect(checked).toBeGreaterThanOrEqual(3 * 5);
    // Manifest bytes: every position is refused (signature, JSON or JWS framing).
    for (let i = archiveAt + 4; i < archiveAt + 4 + manifestLen; i += 7) {
      expect(() => verifyBackup(flip(i), { trust: trust() })).toThrow(BackupRefused);
    }
    expect(() => verifyBackup(flip(magic + 4 + 2))).toThrow(/header/);
    expect(() => verifyBackup(flip(0))).toThrow(/not a juki-gw backup/);
    expect(() => verifyBackup(plain.subarray(0, plain.length - 1))).toThrow(/archive size mismatch/);
    expect(() => verifyBackup(Buffer.concat([plain, Buffer.from([0])]))).toThrow(/archive size mismatch/);
    const target = join(tmp.path, 'never');
    await expect(async () => restoreBackup(verifyBackup(flip(at - 1), { trust: trust() }), target)).rejects.toThrow(/is corrupt/);
    expect(existsSync(target)).toBe(false);
  });

  it('one changed byte in an encrypted backup is refused by the GCM tag', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { file } = await createBackup({
      dataDir,
      signer,
      encryptTo: { publicKeyPem: pem.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
    });
    const priv = pem.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const i of [file.length - 1, file.length - 20, Math.floor(file.length / 2)]) {
      const c = Buffer.from(file);
      c[i]! ^= 0x80;
      expect(() => verifyBackup(c, { decryptWith: { privateKeyPem: priv } })).toThrow(/decryption failed: .*altered/);
    }
  });

  it("backs up a running appliance's open db from one snapshot while writes go on", async () => {
    const live = join(tmp.path, 'live');
    const db = await openApplianceDb(join(live, 'db'));
    const outbox = db.sublevel(SUBLEVELS.outbox);
    const identity = db.sublevel(SUBLEVELS.identity);
    // Each batch writes a pair atomically: a consistent snapshot holds both halves of a pair or neither.
    const pair = (i: number) => {
      const b = db.batch();
      b.put(`p${i}`, Buffer.from('a'), { sublevel: outbox as never });
      b.put(`p${i}`, Buffer.from('b'), { sublevel: identity as never });
      return b.write();
    };
    for (let i = 0; i < 500; i++) await pair(i);
    let i = 500;
    let writing = true;
    const writer = (async () => {
      while (writing) await pair(i++);
    })();
    const { file } = await createBackup({ dataDir: live, signer, db, plaintext: true });
    writing = false;
    await writer;
    await db.close();
    const target = join(tmp.path, 'live-restored');
    await restoreBackup(verifyBackup(file, { trust: trust() }), target);
    const back = await openApplianceDb(join(target, 'db'));
    const a = await back.sublevel(SUBLEVELS.outbox).keys().all();
    const b = await back.sublevel(SUBLEVELS.identity).keys().all();
    await back.close();
    expect(a.length).toBeGreaterThanOrEqual(500);
    expect(a.sort()).toEqual(b.sort());
  });

  it('a signer certificate changed only in its base64 form (padding, line break) is refused', async () => {
    // Node's base64 decoder skips characters it does not know, so such a change would decode to the
    // same certificate and a changed byte of the manifest (e.g. its "=" padding) would go unnoticed.
    const parts: Part[] = [
      { name: 'db.records', kind: 'db', mode: 0o600, data: Buffer.alloc(0) },
      { name: 'file', kind: 'file', mode: 0o644, data: Buffer.from('x') },
    ];
    const archive = await signParts(parts, signer);
    const n = archive.readUInt32BE(0);
    const signed = JSON.parse(archive.subarray(4, 4 + n).toString('utf8')) as { certificate: string };
    const withManifest = (m: object) => {
      const json = Buffer.from(JSON.stringify(m));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(json.length);
      return sealContainer(Buffer.concat([head, json, archive.subarray(4 + n)]));
    };
    expect(verifyBackup(withManifest(signed), { trust: trust() }).manifest.parts).toHaveLength(2);
    const c = signed.certificate;
    // A padding "=" changed to "<" decodes alike only where the certificate's base64 has padding (its DER
    // length varies from key to key); a character inserted mid-text is skipped alike in every case.
    const variants = [`${c.slice(0, 64)}\n${c.slice(64)}`, `${c.slice(0, 40)}<${c.slice(40)}`, `${c}*`];
    if (c.endsWith('=')) variants.push(`${c.slice(0, -1)}<`);
    for (const altered of variants) {
      expect(Buffer.from(altered, 'base64').equals(Buffer.from(c, 'base64'))).toBe(true);
      expect(() => verifyBackup(withManifest({ ...signed, certificate: altered }), { trust: trust() })).toThrow(
        /signer certificate is not canonical base64/,
      );
    }
  });

  it('a validly signed manifest naming a path outside the data dir is refused', async () => {
    const evil: Part[] = [
      { name: 'db.records', kind: 'db', mode: 0o600, data: Buffer.alloc(0) },
      { name: '../escape', kind: 'file', mode: 0o644, data: Buffer.from('x') },
    ];
    const file = sealContainer(await signParts(evil, signer));
    expect(() => verifyBackup(file, { trust: trust() })).toThrow(/unsafe part path "..\/escape"/);
    const abs = sealContainer(await signParts([evil[0]!, { ...evil[1]!, name: '/etc/passwd' }], signer));
    expect(() => verifyBackup(abs, { trust: trust() })).toThrow(/unsafe part path/);
    // create applies the same rule, so no backup is made that restore would refuse.
    const odd = join(tmp.path, 'odd');
    mkdirSync(join(odd, 'db'), { recursive: true });
    await (await openApplianceDb(join(odd, 'db'))).close();
    writeFileSync(join(odd, 'name with space'), 'x');
    await expect(createBackup({ dataDir: odd, signer, plaintext: true })).rejects.toThrow(/unsafe part path "name with space"/);
  });
});
