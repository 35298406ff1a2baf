// identity.search through the composite name + birth year / name + address area index (nx) gives
// exactly the answers of a scan of every holder of the name: checked against a plain filter over
// the records for many query shapes, on a store created with nx and on one created before it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { IdentityStore } from '../../../gateway/cs/identityStore.js';
import { addressKey, ADDRESS_LEVEL, birthDateMatches } from '../../../gateway/cs/identityStoreKeys.js';
import type { IdentityChange, IdentityRecord, SearchQuery } from '../../../gateway/cs/identityStoreTypes.js';
import { myNumberCheckDigit, residentCodeCheckDigit } from '../../../domain/identifiers.js';
import { tempDir } from '../../helpers/tmp.js';

const rc = (n: number) => {
  const b = String(n).padStart(10, '0');
  return b + residentCodeCheckDigit(b);
};
const mn = (n: number) => {
  const b = String(n).padStart(11, '0');
  return b + myNumberCheckDigit(b);
};

// One common name in many years, towns (some sharing the first ADDRESS_LEVEL characters, some
// shorter than it) and both sexes, plus a few other names.
const ADDRESSES = [
  '神奈川県横浜市中区山下町1丁目2番3号',
  '神奈川県横浜市中区山下町2丁目5番1号',
  '神奈川県横浜市中区山手町10番地',
  '神奈川県横浜市港北区日吉本町3丁目4番5号',
  '神奈川県横浜市神奈川区三ツ沢上町7番地',
  '三重県津市栄町二丁目3番4号',
  '三重県津市1番地',
];
const BIRTHS = ['1980-05-01', '1980-00-00', '1980-05-00', '1981-05-01', '1979-12-31', '2001-02-03'];
const NAMES: Array<[string, string]> = [
  ['佐藤　翔', 'さとう　しょう'],
  ['佐藤　翔', 'さとう　しよう'],
  ['齋藤　翔', 'さいとう　しょう'],
  ['佐藤　花子', 'さとう　はなこ'],
];

function person(n: number): IdentityChange {
  const [name, nameKana] = NAMES[n % NAMES.length]!;
  return {
    residentCode: rc(n),
    myNumber: mn(n),
    lgCode: n % 3 === 0 ? '141011' : '141020',
    name,
    nameKana,
    birthDate: BIRTHS[n % BIRTHS.length]!,
    sex: n % 2 ? '1' : '2',
    address: ADDRESSES[n % ADDRESSES.length]!,
    postcode: '2310023',
    changeReason: 'add',
    changeDate: '2020-01-01',
    ...(n % 10 === 4 ? { formerSurname: '山田', formerSurnameKana: 'やまだ' } : {}),
  };
}

const QUERIES: SearchQuery[] = [];
for (const [name, kana] of NAMES) {
  for (const birthDate of ['1980-05-01', '1980', '1980-05', '1980-00-00', '1981-05-01', '2001-02-03', '1990']) {
    QUERIES.push({ name, birthDate }, { kana, birthDate, sex: '1' }, { name, kana, birthDate }, { kana, birthDate, address: '横浜市中区' });
  }
  for (const address of [
    '横浜市中区山下町',
    '神奈川県横浜市中区山',
    '横浜市中区山下町1丁目',
    '横浜市中区',
    '津市栄町',
    '津市栄町2丁目3',
    '津市1番地',
    '横浜市神奈川区',
    '横浜市港北区日吉本町三丁目',
    '横浜市中区山下町9丁目',
  ]) {
    QUERIES.push(
      { kana, address },
      { name, address, sex: '2' },
      { kana, address, lgCode: '141011' },
      { kana, address, includeDeleted: true },
    );
  }
}

/** What a scan of the name's holders would answer: the same filters over every stored record. */
function expected(
  records: IdentityRecord[],
  q: SearchQuery,
  store: { nameMatches: (r: IdentityRecord, q: SearchQuery) => boolean },
): string[] {
  const addr = q.address ? addressKey(q.address) : undefined;
  return records
    .filter(
      (r) =>
        store.nameMatches(r, q) &&
        (r.status === 'current' || q.includeDeleted) &&
        (!q.birthDate || birthDateMatches(r.birthDate, q.birthDate)) &&
        (!addr || addressKey(r.address).startsWith(addr)) &&
        (!q.sex || r.sex === q.sex) &&
        (!q.lgCode || r.lgCode === q.lgCode),
    )
    .map((r) => r.residentCode)
    .sort();
}

describe('identity search through the composite index', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let store: IdentityStore;
  const indexKey = Buffer.alloc(32, 5);

  beforeEach(async () => {
    dir = tempDir('cs-composite-');
    db = await openApplianceDb(dir.path);
    store = await IdentityStore.open(db, { indexKey });
    const b = db.batch();
    for (let n = 1; n <= 240; n++) await store.apply(b, person(n), { mode: 'load', fresh: true });
    await b.write();
    // Changes move records between years, towns and names, and delete some (除票).
    for (let n = 1; n <= 240; n += 7) {
      const c = db.batch();
      const moved = {
        ...person(n),
        address: ADDRESSES[(n + 3) % ADDRESSES.length]!,
        birthDate: BIRTHS[(n + 1) % BIRTHS.length]!,
        changeReason: n % 2 ? ('correct' as const) : ('delete' as const),
        changeDate: '2024-01-01',
      };
      await store.apply(c, moved);
      await c.write();
    }
  });
  afterEach(async () => {
    await db.close();
    dir.cleanup();
  });

  async function answers(): Promise<Array<{ q: SearchQuery; got: string[]; want: string[] }>> {
    const records: IdentityRecord[] = [];
    for (let n = 1; n <= 240; n++) records.push((await store.get(rc(n)))!);
    // Name matching as the store folds it: the fixtures differ only in the listed names and readings.
    const fold = (s: string) => s.replace(/[\u3000 ]/g, '').replace('齋', '斎');
    const kanaFold = (s: string) => s.replace(/[\u3000 ]/g, '').replace(/ょ/g, 'よ');
    const nameMatches = (r: IdentityRecord, q: SearchQuery) => {
      const names = [r.name, ...(r.formerSurname ? [`${r.formerSurname}　${r.name.split('　')[1]}`] : [])].map(fold);
      const kanas = [r.nameKana!, ...(r.formerSurnameKana ? [`${r.formerSurnameKana}　${r.nameKana!.split('　')[1]}`] : [])].map(kanaFold);
      if (q.name && !names.includes(fold(q.name))) return false;
      if (q.kana && !kanas.includes(kanaFold(q.kana))) return false;
      return true;
    };
    const out = [];
    for (const q of QUERIES) {
      const r = await store.search(q, { limit: 500 });
      expect(r.truncated).toBe(false);
      out.push({ q, got: r.hits.map((h) => h.residentCode).sort(), want: expected(records, q, { nameMatches }) });
    }
    return out;
  }

  it('answers every query shape exactly as the full name scan', async () => {
    const all = await answers();
    for (const { q, got, want } of all) expect(got, JSON.stringify(q)).toEqual(want);
    // The fixtures do exercise the index: most queries have hits, and some addresses are shorter than its level.
    expect(all.filter((a) => a.want.length > 0).length).toBeGreaterThan(QUERIES.length / 2);
    expect(QUERIES.some((q) => q.address && [...addressKey(q.address)].length < ADDRESS_LEVEL)).toBe(true);
  });

  it('falls back to the name scan on a store created before the composite index, until a rebuild', async () => {
    // A store of the earlier layout: no nx entries and no marker.
    const identity = db.sublevel<string, Uint8Array>(SUBLEVELS.identity, { valueEncoding: 'view' });
    await identity.sublevel('nx').clear();
    await identity.sublevel('meta').del('nx');
    await db.close();
    db = await openApplianceDb(dir.path);
    store = await IdentityStore.open(db, { indexKey });
    for (const { q, got, want } of await answers()) expect(got, JSON.stringify(q)).toEqual(want);
    expect(await store.rebuildSearchIndexes()).toEqual({ records: 240 });
    let nx = 0;
    for await (const _ of db.sublevel(SUBLEVELS.identity).sublevel('nx').keys()) nx++;
    expect(nx).toBeGreaterThan(240);
    await db.close();
    db = await openApplianceDb(dir.path);
    store = await IdentityStore.open(db, { indexKey });
    for (const { q, got, want } of await answers()) expect(got, JSON.stringify(q)).toEqual(want);
  });
});
