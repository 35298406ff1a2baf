// Proof that no resident's name or number reaches the data directory in clear: write many records
// through encrypted sublevels (enough for LevelDB to flush tables and compact), close the db, and
// scan every byte of every file. A control run through a plain sublevel shows the scan finds them.
import { afterEach, describe, expect, it } from 'vitest';
import { randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openApplianceDb } from '../../../platform/store/db.js';
import { createKeyHasher, openFileKek, openKeyring, openPkcs11Kek, type Keyring } from '../../../gateway/crypto/index.js';
import { createSoftHsmToken } from './crypto-softhsm.js';
import { createAuditLog } from '../../../gateway/audit/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { testSigner } from '../audit/audit-helpers.js';
import { digitWindows, filesUnder } from '../../helpers/scan.js';

const FAMILY = ['津田', '伊勢谷', '鈴鹿原', '桑名川', '亀山崎', '尾鷲木', '熊野森', '志摩浦'];
const GIVEN = ['花子', '太郎', '美咲', '健一', '陽菜', '翔太'];
const KANA = ['ツダ', 'イセヤ', 'スズカハラ', 'クワナガワ', 'カメヤマザキ', 'オワセギ', 'クマノモリ', 'シマウラ'];

interface Resident {
  code: string;
  number: string;
  name: string;
  kana: string;
  romaji: string;
}

function residents(n: number): Resident[] {
  const digits = (len: number) => Array.from({ length: len }, () => randomInt(10)).join('');
  return Array.from({ length: n }, (_, i) => ({
    code: digits(11),
    number: digits(12),
    name: `${FAMILY[i % FAMILY.length]} ${GIVEN[i % GIVEN.length]}`,
    kana: `${KANA[i % KANA.length]} ${i}`,
    romaji: `Tsuda-${i.toString(36)}-Hanako`,
  }));
}

async function writeAll(path: string, people: Resident[], encrypt: boolean, kekKind: 'file' | 'softhsm' = 'file') {
  const db = await openApplianceDb(join(path, 'db'));
  // SoftHSM keeps its token files inside the data dir too, so the scan covers them as well.
  const token = kekKind === 'softhsm' ? createSoftHsmToken('jukigw-scan', '246810', join(path, 'softhsm')) : undefined;
  const kek = token
    ? openPkcs11Kek({ module: token.module, tokenLabel: token.tokenLabel, pin: token.pin })
    : openFileKek(join(path, 'keys', 'kek.bin'));
  const ring: Keyring = await openKeyring({ db, kek });
  const hash = createKeyHasher(await ring.secret('blind-index'));
  const enc = (inner: 'json') => (encrypt ? ring.valueEncoding(inner) : inner);
  const identity = db.sublevel<string, unknown>('identity', { valueEncoding: enc('json') as never });
  const history = identity.sublevel<string, unknown>('history', { valueEncoding: enc('json') as never });
  const outbox = db.sublevel<string, unknown>('outbox', { valueEncoding: enc('json') as never });
  for (let off = 0; off < people.length; off += 1000) {
    const b = db.batch();
    for (const p of people.slice(off, off + 1000)) {
      const k = hash('rc', p.code);
      const rec = {
        住民票コード: p.code,
        個人番号: p.number,
        氏名: p.name,
        氏名カナ: p.kana,
        romaji: p.romaji,
        住所: '三重県津市西丸之内23番1号',
      };
      b.put(k, rec, { sublevel: identity as never });
      b.put(`${k}/0001`, { seq: 1, before: null, after: rec }, { sublevel: history as never });
      b.put(`msg-${k}`, { type: 'identity.update', body: rec }, { sublevel: outbox as never });
    }
    await b.write();
  }
  // The audit trail of those look-ups lives in the same data dir and must not leak them either.
  const audit = await createAuditLog({ db, signer: await testSigner(), checkpointEvery: 500 });
  for (const p of people.slice(0, 2000)) {
    await audit.append({
      actor: { kind: 'operator', id: 'op-1' },
      terminalId: 'term-1',
      dutyCode: 'J01',
      action: 'identity.search',
      outcome: 'ok',
      keys: [hash('rc', p.code), hash('name', p.name)],
      hitCount: 1,
    });
  }
  await audit.close();
  await db.compactRange('!', '~');
  // Re-write a slice so the current write-ahead log also holds records when the db closes.
  for (const p of people.slice(0, 200)) await identity.put(hash('rc', p.code), { 住民票コード: p.code, 氏名: p.name });
  await ring.close();
  await kek.close();
  await db.close();
  token?.cleanup();
}

function scan(path: string, people: Resident[]) {
  const files = filesUnder(path);
  const data = Buffer.concat(files.map((f) => readFileSync(f)));
  const windows = digitWindows(data);
  const textNeedles = [...FAMILY, ...GIVEN, ...KANA, '三重県津市', 'Tsuda-'];
  return {
    files,
    bytes: data.length,
    textHits: textNeedles.filter((t) => data.includes(Buffer.from(t, 'utf8'))),
    codeHits: people.filter((p) => windows.has(p.code)).length,
    numberHits: people.filter((p) => windows.has(p.number)).length,
  };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A scan over real table and log files of a sizeable store that finds no personal data. */
function expectNothingInClear(r: ReturnType<typeof scan>): void {
  if (process.env.SCAN_REPORT)
    console.log({ files: r.files.length, bytes: r.bytes, text: r.textHits.length, codes: r.codeHits, numbers: r.numberHits });
  expect(r.files.some((f) => f.endsWith('.ldb'))).toBe(true);
  expect(r.files.some((f) => f.endsWith('.log') && statSync(f).size > 0)).toBe(true);
  expect(r.bytes).toBeGreaterThan(5_000_000);
  expect(r.textHits).toEqual([]);
  expect(r.codeHits).toBe(0);
  expect(r.numberHits).toBe(0);
}

describe('data directory scan', () => {
  const people = residents(12000);

  it('finds no name, kana, address or number in clear when written through the sealed encoding (file KEK)', async () => {
    const dir = tempDir('jukigw-scan-');
    cleanups.push(dir.cleanup);
    await writeAll(dir.path, people, true);
    const r = scan(dir.path, people);
    expectNothingInClear(r);
  }, 60_000);

  it('the same with data keys wrapped by an AES key on a SoftHSM token kept in the data dir', async () => {
    const dir = tempDir('jukigw-scan-hsm-');
    cleanups.push(dir.cleanup);
    await writeAll(dir.path, people, true, 'softhsm');
    const r = scan(dir.path, people);
    expect(r.files.some((f) => f.includes('softhsm'))).toBe(true);
    expectNothingInClear(r);
  }, 60_000);

  it('control: the same scan finds them when the sublevels are not sealed', async () => {
    const dir = tempDir('jukigw-scan-plain-');
    cleanups.push(dir.cleanup);
    await writeAll(dir.path, people, false);
    const r = scan(dir.path, people);
    if (process.env.SCAN_REPORT)
      console.log({ files: r.files.length, bytes: r.bytes, text: r.textHits.length, codes: r.codeHits, numbers: r.numberHits });
    expect(r.textHits.length).toBeGreaterThan(0);
    expect(r.codeHits + r.numberHits).toBeGreaterThan(people.length / 2);
  }, 60_000);
});
