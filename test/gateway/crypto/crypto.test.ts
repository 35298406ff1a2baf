import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import {
  countByKey,
  openFileKek,
  openKeyring,
  openPkcs11Kek,
  reencrypt,
  rotateAndRetire,
  sealedKeyId,
  SealedValueError,
  type Keyring,
  type KeyEncryptionKey,
} from '../../../gateway/crypto/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { createSoftHsmToken } from './crypto-softhsm.js';
import { openKekFromConfig, openEncryptionAtRest } from '../../../gateway/crypto/index.js';
import { hsmSection } from '../../../config/schema/hsm.js';
import { writeFileSync } from 'node:fs';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(kek?: KeyEncryptionKey, dir = tempDir('jukigw-crypto-')) {
  const db = await openApplianceDb(join(dir.path, 'db'));
  const k = kek ?? openFileKek(join(dir.path, 'keys', 'kek.bin'));
  const ring = await openKeyring({ db, kek: k });
  cleanups.push(
    () => dir.cleanup(),
    async () => {
      await ring.close();
      await k.close();
      await db.close();
    },
  );
  return { db, kek: k, ring, dir };
}

describe('sealed values', () => {
  it('round-trips json, utf8 and bytes through an encrypted sublevel, also after reopening', async () => {
    const dir = tempDir('jukigw-crypto-');
    cleanups.push(() => dir.cleanup());
    let db: Db = await openApplianceDb(join(dir.path, 'db'));
    let kek = openFileKek(join(dir.path, 'keys', 'kek.bin'));
    let ring: Keyring = await openKeyring({ db, kek });
    const rec = { name: '津 太郎', code: '12345678901', history: [{ seq: 1 }] };
    await db.sublevel<string, unknown>('identity', { valueEncoding: ring.valueEncoding('json') }).put('a', rec);
    await db.sublevel<string, string>('moveout', { valueEncoding: ring.valueEncoding('utf8') }).put('b', '三重県津市');
    await db.sublevel<string, Uint8Array>('outbox', { valueEncoding: ring.valueEncoding('view') }).put('c', new Uint8Array([1, 2, 3]));
    expect(statSync(join(dir.path, 'keys', 'kek.bin')).mode & 0o777).toBe(0o600);
    await ring.close();
    await kek.close();
    await db.close();

    db = await openApplianceDb(join(dir.path, 'db'));
    kek = openFileKek(join(dir.path, 'keys', 'kek.bin'));
    ring = await openKeyring({ db, kek });
    cleanups.push(async () => {
      await ring.close();
      await kek.close();
      await db.close();
    });
    expect(await db.sublevel<string, unknown>('identity', { valueEncoding: ring.valueEncoding('json') }).get('a')).toEqual(rec);
    expect(await db.sublevel<string, string>('moveout', { valueEncoding: ring.valueEncoding('utf8') }).get('b')).toBe('三重県津市');
    expect([...(await db.sublevel<string, Uint8Array>('outbox', { valueEncoding: ring.valueEncoding('view') }).get('c'))!]).toEqual([
      1, 2, 3,
    ]);
    const raw = await db.sublevel<string, Uint8Array>('identity', { valueEncoding: 'view' }).get('a');
    expect(sealedKeyId(raw!)).toBe(1);
    expect(Buffer.from(raw!).includes(Buffer.from('津 太郎'))).toBe(false);
  });

  it('refuses every tampered byte position with SealedValueError, never returning garbage', async () => {
    const { ring } = await setup();
    const sealed = ring.seal(Buffer.from('{"name":"伊勢 花子"}'));
    const positions = [0, 1, 2, 5, 6, 17, 18, sealed.length - 17, sealed.length - 1];
    for (const i of positions) {
      const bad = Uint8Array.from(sealed);
      bad[i] = bad[i]! ^ 0x01;
      let thrown: unknown;
      try {
        ring.unseal(bad);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `byte ${i}`).toBeInstanceOf(SealedValueError);
    }
    expect(() => ring.unseal(sealed.subarray(0, sealed.length - 1))).toThrow(SealedValueError);
    expect(() => ring.unseal(new Uint8Array(10))).toThrow(/not a sealed value/);
    expect(Buffer.from(ring.unseal(sealed)).toString()).toBe('{"name":"伊勢 花子"}');
  });

  it('a tampered value read through a sublevel rejects with the decode error as cause', async () => {
    const { db, ring } = await setup();
    const enc = db.sublevel<string, unknown>('identity', { valueEncoding: ring.valueEncoding('json') });
    await enc.put('k', { name: '鈴鹿 一郎' });
    const raw = db.sublevel<string, Uint8Array>('identity', { valueEncoding: 'view' });
    const v = Uint8Array.from((await raw.get('k'))!);
    v[v.length - 20] = v[v.length - 20]! ^ 0x80;
    await raw.put('k', v);
    const err = await enc.get('k').then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: unknown },
    );
    expect(err).toBeDefined();
    expect(err!.cause).toBeInstanceOf(SealedValueError);
    expect((err!.cause as SealedValueError).reason).toBe('bad_tag');
  });

  it('another KEK cannot open the keyring', async () => {
    const { db, dir, ring } = await setup();
    const other = openFileKek(join(dir.path, 'other-kek.bin'));
    cleanups.push(() => other.close());
    await expect(openKeyring({ db, kek: other })).rejects.toThrow(/already open on this database with KEK file:/);
    await ring.close();
    await expect(openKeyring({ db, kek: other })).rejects.toThrow(/wrapped by file:/);
  });

  it('is one keyring per database: a rotation through one handle is seen through every other', async () => {
    const { db, kek, ring } = await setup();
    const second = await openKeyring({ db, kek });
    await ring.rotate();
    expect(second.currentKeyId()).toBe(ring.currentKeyId());
    await second.close();
    await second.close();
    expect(ring.unseal(second.seal(Buffer.from('x'))).toString()).toBe('x');
  });

  it('named secrets are created once and stable across reopen', async () => {
    const { ring, db, kek } = await setup();
    const s1 = await ring.secret('audit-keys');
    expect(Buffer.from(await ring.secret('blind-index')).equals(Buffer.from(s1))).toBe(false);
    await ring.close();
    const again = await openKeyring({ db, kek });
    cleanups.push(() => again.close());
    expect(Buffer.from(await again.secret('audit-keys')).equals(Buffer.from(s1))).toBe(true);
  });
});

describe('openEncryptionAtRest', () => {
  it('opens keyring and blind-index hasher from config; hashes are stable across restarts', async () => {
    const dir = tempDir('jukigw-atrest-');
    cleanups.push(() => dir.cleanup());
    const hsm = hsmSection.parse({ kind: 'software' });
    let db = await openApplianceDb(join(dir.path, 'db'));
    let at = await openEncryptionAtRest({ hsm, dataDir: dir.path, db });
    const h1 = at.hashKey('rc', '12345678901');
    expect(h1).toMatch(/^rc:[A-Za-z0-9_-]{43}$/);
    expect(at.hashKey('rc', '12345678902')).not.toBe(h1);
    await db.sublevel<string, unknown>('identity', { valueEncoding: at.keyring.valueEncoding('json') }).put(h1, { 氏名: '津田 花子' });
    await at.close();
    await db.close();
    db = await openApplianceDb(join(dir.path, 'db'));
    at = await openEncryptionAtRest({ hsm, dataDir: dir.path, db });
    cleanups.push(async () => {
      await at.close();
      await db.close();
    });
    expect(at.hashKey('rc', '12345678901')).toBe(h1);
    expect(await db.sublevel<string, unknown>('identity', { valueEncoding: at.keyring.valueEncoding('json') }).get(h1)).toEqual({
      氏名: '津田 花子',
    });
  });
});

describe('hsm.kind auto', () => {
  it('wraps data keys on the data-dir SoftHSM token, readable again by a new process', async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = tempDir('jukigw-auto-');
    cleanups.push(() => dir.cleanup());
    const env = { ...process.env };
    delete env.SOFTHSM2_CONF;
    const child = (arg: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', new URL('./crypto-auto-child.ts', import.meta.url).pathname, dir.path, arg], {
          env,
          encoding: 'utf8',
          timeout: 60_000,
        })
          .trim()
          .split('\n')
          .pop()!,
      );
    const first = child('亀山 三郎');
    expect(first).toMatchObject({ kek: 'pkcs11', value: { 氏名: '亀山 三郎' } });
    expect(child('read')).toEqual(first);
    expect(statSync(join(dir.path, 'hsm', 'softhsm', 'tokens')).isDirectory()).toBe(true);
  }, 120_000);
});

describe('data key rotation', () => {
  it('rotates while reads and writes continue; no update is lost; the old key is retired', async () => {
    const { db, ring, kek } = await setup();
    const people = db.sublevel<string, { v: number; name: string }>('identity', { valueEncoding: ring.valueEncoding('json') as never });
    const N = 3000;
    const latest = new Map<string, number>();
    const key = (i: number) => `p${i.toString().padStart(6, '0')}`;
    for (let off = 0; off < N; off += 500) {
      await people.batch(
        Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: key(off + j), value: { v: 0, name: `住民${off + j}` } })),
      );
    }
    for (let i = 0; i < N; i++) latest.set(key(i), 0);
    const oldKey = ring.currentKeyId();

    let stop = false;
    let writes = 0;
    let reads = 0;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        const k = key((i * 7919) % N);
        const v = latest.get(k)! + 1;
        latest.set(k, v);
        await people.put(k, { v, name: `住民${k}` });
        writes++;
        i++;
      }
    })();
    const reader = (async () => {
      let i = 0;
      while (!stop) {
        const rec = await people.get(key((i * 104729) % N));
        expect(rec?.name).toMatch(/^住民/);
        reads++;
        i++;
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    const result = await rotateAndRetire(db, ring, ['identity']);
    stop = true;
    await Promise.all([writer, reader]);

    expect(result.newKeyId).toBe(oldKey + 1);
    expect(result.retired).toEqual([oldKey]);
    expect(result.report.unreadable).toEqual([]);
    expect(writes).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(0);
    expect(await countByKey(db, ['identity'])).toEqual({ [oldKey + 1]: N });
    for (const [k, v] of await people.iterator().all()) expect(v.v, k).toBe(latest.get(k));
    expect(ring.keys().map((k) => [k.id, k.state, k.current])).toEqual([
      [oldKey, 'retired', false],
      [oldKey + 1, 'active', true],
    ]);

    await ring.close();
    const reopened = await openKeyring({ db, kek });
    cleanups.push(() => reopened.close());
    const again = db.sublevel<string, { v: number }>('identity', { valueEncoding: reopened.valueEncoding('json') as never });
    expect((await again.get(key(17)))?.v).toBe(latest.get(key(17)));
  });

  it('a write issued while a re-encryption batch is in flight is never lost', async () => {
    const { db, ring } = await setup();
    const people = db.sublevel<string, { v: number }>('identity', { valueEncoding: ring.valueEncoding('json') as never });
    const N = 2000;
    const key = (i: number) => `p${i.toString().padStart(6, '0')}`;
    await people.batch(Array.from({ length: N }, (_, i) => ({ type: 'put' as const, key: key(i), value: { v: 0 } })));
    await ring.rotate();
    const raced = new Set<string>();
    const writes: Promise<void>[] = [];
    // For every value the pass rewrites, another writer updates the same record right after the
    // pass has issued its batch: whichever LevelDB applies last, the writer's value must survive.
    const race = (op: { key: unknown; sublevel?: unknown }) => {
      const k = String(op.key);
      if (op.sublevel || !k.startsWith('!identity!p') || raced.has(k)) return;
      raced.add(k);
      queueMicrotask(() => {
        writes.push(people.put(k.slice('!identity!'.length), { v: 99 }));
      });
    };
    db.hooks.prewrite.add(race as never);
    const report = await reencrypt(db, ring, ['identity'], { batchSize: 100 });
    await Promise.all(writes);
    db.hooks.prewrite.delete(race as never);
    expect(raced.size).toBe(N);
    expect(report.unreadable).toEqual([]);
    if (process.env.SCAN_REPORT) console.log({ rewritten: report.rewritten, restored: report.restored, skipped: report.skippedConcurrent });
    for (const [k, v] of await people.iterator().all()) expect(v.v, k).toBe(99);
  });

  it('a write already in flight when the pass starts is never lost', async () => {
    const { db, ring } = await setup();
    const people = db.sublevel<string, { v: number }>('identity', { valueEncoding: ring.valueEncoding('json') as never });
    const N = 300;
    const key = (i: number) => `p${i.toString().padStart(6, '0')}`;
    await people.batch(Array.from({ length: N }, (_, i) => ({ type: 'put' as const, key: key(i), value: { v: 0 } })));
    await ring.rotate();
    // Issued before the pass starts listening and not awaited: LevelDB may apply it after the
    // pass's iterator took its snapshot but before the pass checks what to rewrite.
    for (let round = 1; round <= 30; round++) {
      const k = key(round % 20);
      const write = people.put(k, { v: round });
      await reencrypt(db, ring, ['identity'], { batchSize: 100, countRemaining: false });
      await write;
      expect((await people.get(k))?.v, `${k} in round ${round}`).toBe(round);
      await ring.rotate();
    }
  });

  it('values under a retired key fail with retired_key; the pass refuses nothing silently', async () => {
    const { db, ring } = await setup();
    const s = db.sublevel<string, string>('moveout', { valueEncoding: ring.valueEncoding('utf8') });
    await s.put('x', '転出');
    const old = ring.currentKeyId();
    await ring.rotate();
    expect(await s.get('x')).toBe('転出');
    await expect(ring.retire(ring.currentKeyId())).rejects.toThrow(/is current/);
    await ring.retire(old);
    const err = await s.get('x').then(
      () => undefined,
      (e: Error & { cause?: SealedValueError }) => e,
    );
    expect(err?.cause?.reason).toBe('retired_key');
    const report = await reencrypt(db, ring, ['moveout']);
    expect(report.unreadable).toEqual(['!moveout!x']);
  });
});

describe('PKCS#11 KEK on SoftHSM', () => {
  let token: ReturnType<typeof createSoftHsmToken>;
  beforeAll(() => {
    token = createSoftHsmToken('jukigw-kek');
  });
  afterAll(() => token.cleanup());

  it('wraps data keys with an AES key on the token and reopens with a new session', async () => {
    const opts = { module: token.module, tokenLabel: token.tokenLabel, pin: token.pin };
    const kek1 = openPkcs11Kek(opts);
    expect(kek1.kind).toBe('pkcs11');
    const { db, ring, dir } = await setup(kek1);
    const s = db.sublevel<string, unknown>('identity', { valueEncoding: ring.valueEncoding('json') });
    await s.put('r', { name: '四日市 次郎' });
    const wrapped = await kek1.wrap(new Uint8Array(32).fill(7));
    expect(wrapped.length).toBe(40);
    expect([...(await kek1.unwrap(wrapped))]).toEqual(new Array(32).fill(7));
    const tampered = Uint8Array.from(wrapped);
    tampered[3] = tampered[3]! ^ 1;
    await expect(kek1.unwrap(tampered)).rejects.toThrow(/does not unwrap/);

    await ring.close();
    const kek2 = openPkcs11Kek(opts);
    cleanups.push(() => kek2.close());
    expect(kek2.id).toBe(kek1.id);
    const ring2 = await openKeyring({ db, kek: kek2 });
    cleanups.push(() => ring2.close());
    expect(await db.sublevel<string, unknown>('identity', { valueEncoding: ring2.valueEncoding('json') }).get('r')).toEqual({
      name: '四日市 次郎',
    });
    await ring2.close();
    const fileKek = openFileKek(join(dir.path, 'keys', 'kek.bin'));
    cleanups.push(() => fileKek.close());
    await expect(openKeyring({ db, kek: fileKek })).rejects.toThrow(/wrapped by pkcs11:/);
  });

  it('is chosen from the hsm config section (PIN from a file); software otherwise', async () => {
    const dir = tempDir('jukigw-kekcfg-');
    cleanups.push(() => dir.cleanup());
    const pinFile = join(dir.path, 'pin');
    writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const hsm = hsmSection.parse({ kind: 'pkcs11', module: token.module, tokenLabel: token.tokenLabel, pin: { file: pinFile } });
    const kek = openKekFromConfig(hsm, dir.path);
    cleanups.push(() => kek.close());
    expect(kek.kind).toBe('pkcs11');
    const soft = openKekFromConfig(hsmSection.parse({ kind: 'software' }), dir.path);
    cleanups.push(() => soft.close());
    expect(soft.kind).toBe('software');
    expect(soft.warning).toMatch(/not for production/);
    expect(statSync(join(dir.path, 'keys', 'kek.bin')).mode & 0o777).toBe(0o600);
  });

  it('recovers its session after the module was re-initialised (token recovery by the signer)', async () => {
    const { reinitializeModule } = await import('../../../hsm/pkcs11-module.js');
    const kek = openPkcs11Kek({ module: token.module, tokenLabel: token.tokenLabel, pin: token.pin });
    cleanups.push(() => kek.close());
    const wrapped = await kek.wrap(new Uint8Array(32).fill(3));
    reinitializeModule(token.module);
    expect([...(await kek.unwrap(wrapped))]).toEqual(new Array(32).fill(3));
  });

  it('rejects a wrong PIN with a precise error', () => {
    expect(() => openPkcs11Kek({ module: token.module, tokenLabel: token.tokenLabel, pin: '000000' })).toThrow(
      /login failed: CKR_PIN_INCORRECT/,
    );
    expect(() => openPkcs11Kek({ module: token.module, tokenLabel: 'nope', pin: token.pin })).toThrow(/no PKCS#11 token labelled "nope"/);
  });
});
