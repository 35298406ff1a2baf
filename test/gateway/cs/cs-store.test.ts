import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { IdentityStore, IdentityStoreError } from '../../../gateway/cs/identityStore.js';
import type { IdentityChange, ValueCodec } from '../../../gateway/cs/identityStoreTypes.js';
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

function person(n: number, over: Partial<IdentityChange> = {}): IdentityChange {
  return {
    residentCode: rc(n),
    myNumber: mn(n),
    lgCode: '242012',
    name: '髙橋　一郎',
    nameKana: 'たかはし　いちろう',
    birthDate: '1980-05-01',
    sex: '1',
    address: '三重県津市栄町二丁目3番4号',
    postcode: '5140004',
    changeReason: 'add',
    changeDate: '2020-01-01',
    ...over,
  };
}

describe('identity store', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let store: IdentityStore;
  const indexKey = Buffer.alloc(32, 7);

  beforeEach(async () => {
    dir = tempDir('cs-store-');
    db = await openApplianceDb(dir.path);
    store = await IdentityStore.open(db, { indexKey });
  });
  afterEach(async () => {
    await db.close();
    dir.cleanup();
  });

  async function apply(c: IdentityChange, mode: 'flow' | 'load' = 'flow') {
    const b = db.batch();
    const r = await store.apply(b, c, { mode });
    await b.write();
    return r;
  }

  it('assigns increasing 更新順番号 and keeps every version, deleted records included', async () => {
    const a = await apply(person(1));
    const b = await apply(person(1, { address: '三重県津市丸之内5番地', changeReason: 'correct', changeDate: '2021-02-03' }));
    const c = await apply(person(1, { changeReason: 'delete', changeDate: '2022-03-04' }));
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    const hist = await store.history(rc(1));
    expect(hist.map((r) => [r.updateSeq, r.status, r.changeReason])).toEqual([
      [1, 'current', 'add'],
      [2, 'current', 'correct'],
      [3, 'deleted', 'delete'],
    ]);
    expect((await store.get(rc(1)))?.status).toBe('deleted');
    expect((await store.versionAt(rc(1), 2))?.address).toBe('三重県津市丸之内5番地');
    expect(await store.versionAt(rc(1), 0)).toBeUndefined();
  });

  it('recovers the last sequence number after a restart', async () => {
    await apply(person(1));
    await apply(person(2));
    await db.close();
    db = await openApplianceDb(dir.path);
    store = await IdentityStore.open(db, { indexKey });
    expect(store.lastSeq()).toBe(2);
    expect((await apply(person(3))).seq).toBe(3);
  });

  it("commits atomically with the caller's other sublevel writes", async () => {
    const outbox = db.sublevel<string, Uint8Array>('outbox', { valueEncoding: 'view' });
    const b = db.batch();
    await store.apply(b, person(1));
    b.put('n1', new Uint8Array([1]), { sublevel: outbox });
    expect(await store.get(rc(1))).toBeUndefined();
    await b.write();
    expect((await store.get(rc(1)))?.name).toBe('髙橋　一郎');
    expect(await outbox.get('n1')).toBeDefined();
  });

  it('rejects bad records, duplicates and impossible transitions precisely', async () => {
    await expect(apply(person(1, { myNumber: '123456789010', birthDate: '1980-02-30' }))).rejects.toMatchObject({
      code: 'invalid_request',
      details: [{ path: 'myNumber' }, { path: 'birthDate' }],
    });
    await apply(person(1));
    await expect(apply(person(1))).rejects.toMatchObject({ code: 'conflict' });
    await expect(apply(person(2, { myNumber: mn(1) }))).rejects.toMatchObject({ code: 'conflict', details: [{ path: 'myNumber' }] });
    await expect(apply(person(3, { changeReason: 'correct', changeDate: '2020-01-01' }))).rejects.toBeInstanceOf(IdentityStoreError);
    await apply(person(1, { changeReason: 'delete', changeDate: '2021-01-01' }));
    await expect(apply(person(1, { changeReason: 'correct', changeDate: '2021-01-02' }))).rejects.toMatchObject({ code: 'conflict' });
    // A deleted record no longer holds its 個人番号 for a new registration.
    await apply(person(4, { myNumber: mn(1) }));
  });

  it('reads no 個人番号 index for an update that keeps the number its current record holds', async () => {
    await apply(person(1));
    await apply(person(2));
    // The root db serves every sublevel's range reads; count those over the 個人番号 index.
    const spy = vi.spyOn(db, 'keys');
    const mnReads = () => spy.mock.calls.filter(([o]) => String((o as { gt?: unknown } | undefined)?.gt).includes('!mn!')).length;
    try {
      await apply(person(1, { address: '三重県津市丸之内5番地', changeReason: 'correct', changeDate: '2021-02-03' }));
      expect(mnReads()).toBe(0);
      // A new number, or a new record, is still checked against every other holder.
      await expect(apply(person(1, { myNumber: mn(2), changeReason: 'correct', changeDate: '2021-02-04' }))).rejects.toMatchObject({
        code: 'conflict',
        details: [{ path: 'myNumber' }],
      });
      await expect(apply(person(3, { myNumber: mn(1) }))).rejects.toMatchObject({ code: 'conflict', details: [{ path: 'myNumber' }] });
      expect(mnReads()).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect((await store.get(rc(1)))?.address).toBe('三重県津市丸之内5番地');
  });

  it('finds a record by 個人番号', async () => {
    await apply(person(1));
    await apply(person(2));
    expect((await store.byMyNumber(mn(2)))?.residentCode).toBe(rc(2));
    expect(await store.byMyNumber(mn(9))).toBeUndefined();
  });

  it('searches with folded kanji, kana forms, alternate names and address prefixes', async () => {
    await apply(person(1));
    await apply(
      person(2, {
        name: '渡邉　花子',
        nameKana: 'わたなべ　はなこ',
        sex: '2',
        birthDate: '1975-07-07',
        formerSurname: '齋藤',
        formerSurnameKana: 'さいとう',
        address: '三重県津市上浜町1丁目2番3号',
      }),
    );
    await apply(
      person(3, {
        name: 'KIM MINJUN',
        nameKana: 'キム　ミンジュン',
        alias: '金田　民俊',
        aliasKana: 'かねだ　みんしゅん',
        birthDate: '1990-00-00',
        address: '三重県津市大門7番地',
      }),
    );
    await apply(person(4, { name: 'ジョッキー　ガブリエル', nameKana: 'ジョッキー　ガブリエル', birthDate: '1999-01-01' }));
    const q = async (query: Parameters<IdentityStore['search']>[0]) =>
      (await store.search(query, { limit: 10 })).hits.map((h) => h.residentCode);
    expect(await q({ name: '高橋 一郎', birthDate: '1980-05-01' })).toEqual([rc(1)]);
    expect(await q({ kana: 'ﾀｶﾊｼ ｲﾁﾛｳ', address: '津市栄町2-3' })).toEqual([rc(1)]);
    expect(await q({ name: '渡辺花子', address: '三重県津市上浜町一丁目' })).toEqual([rc(2)]);
    expect(await q({ name: '斉藤　花子', birthDate: '1975-00-00' })).toEqual([rc(2)]);
    expect(await q({ kana: 'サイトウ　ハナコ', birthDate: '1975-07-07' })).toEqual([rc(2)]);
    expect(await q({ name: '金田民俊', birthDate: '1990-04-01' })).toEqual([rc(3)]);
    expect(await q({ kana: 'かねだ みんしゅん', birthDate: '1990-00-00' })).toEqual([rc(3)]);
    expect(await q({ kana: 'しよつきい かふりえる', birthDate: '1999-01-01' })).toEqual([]); // ー is not folded
    expect(await q({ kana: 'じよつきー かぶりえる', birthDate: '1999-01-01' })).toEqual([rc(4)]);
    expect(await q({ name: '高橋一郎', birthDate: '1980-05-01', sex: '2' })).toEqual([]);
    expect(await q({ name: '高橋一郎', birthDate: '1980-05-01', lgCode: '141003' })).toEqual([]);
    expect(await q({ name: '高橋一郎', kana: 'スズキ', birthDate: '1980-05-01' })).toEqual([]);
    await expect(store.search({ name: '高橋一郎' }, { limit: 10 })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('caps hits, reports the total, and leaves deleted records out unless asked', async () => {
    for (let i = 1; i <= 7; i++) await apply(person(i));
    const r = await store.search({ name: '高橋一郎', birthDate: '1980-05-01' }, { limit: 5 });
    expect([r.hits.length, r.total, r.truncated]).toEqual([0, 7, true]);
    await apply(person(7, { changeReason: 'delete', changeDate: '2024-01-01' }));
    expect((await store.search({ name: '高橋一郎', birthDate: '1980-05-01' }, { limit: 50 })).total).toBe(6);
    expect((await store.search({ name: '高橋一郎', birthDate: '1980-05-01', includeDeleted: true }, { limit: 50 })).total).toBe(7);
  });

  it('drops stale index entries when a record changes', async () => {
    await apply(person(1));
    await apply(
      person(1, {
        name: '山田　一郎',
        nameKana: 'やまだ　いちろう',
        address: '三重県津市大門1番地',
        changeReason: 'correct',
        changeDate: '2021-01-01',
      }),
    );
    expect((await store.search({ name: '高橋一郎', birthDate: '1980-05-01' }, { limit: 5 })).total).toBe(0);
    expect((await store.search({ name: '山田一郎', address: '津市大門' }, { limit: 5 })).total).toBe(1);
    expect(await store.byAddress('三重県津市栄町2丁目3番4号')).toEqual([]);
    expect((await store.byAddress('津市大門一番地')).length).toBe(1);
  });

  it('puts no name, number or address in clear in any key, and runs values through the codec', async () => {
    await db.close();
    db = await openApplianceDb(dir.path);
    const xor: ValueCodec = {
      encode: (v) => Buffer.from(JSON.stringify(v)).map((x) => x ^ 0x5a),
      decode: (b) =>
        JSON.parse(
          Buffer.from(b)
            .map((x) => x ^ 0x5a)
            .toString(),
        ),
    };
    store = await IdentityStore.open(db, { indexKey, codec: xor });
    await apply(person(1, { formerSurname: '齋藤', alias: '通称太郎' }));
    await apply(person(1, { address: '三重県津市大門1番地', changeReason: 'correct', changeDate: '2021-01-01' }));
    expect((await store.get(rc(1)))?.address).toBe('三重県津市大門1番地');
    const secrets = [mn(1), '髙橋', '高橋', 'タカハシ', 'たかはし', '栄町', '大門', '齋藤', '通称', '1980-05-01', '5140004'];
    for await (const [k, raw] of db.iterator()) {
      const v = Buffer.from(raw).toString('utf8');
      for (const s of secrets) {
        expect(k.includes(s), `key ${k} contains ${s}`).toBe(false);
        expect(v.includes(s), `value under ${k} contains ${s}`).toBe(false);
      }
    }
  });

  it('rebuilds the search indexes under a new index key', async () => {
    await apply(person(1));
    await apply(person(2, { name: '渡邉　花子', nameKana: 'わたなべ　はなこ', sex: '2' }));
    await apply(
      person(2, { name: '渡邉　花子', nameKana: 'わたなべ　はなこ', sex: '2', changeReason: 'delete', changeDate: '2024-01-01' }),
    );
    const before: string[] = [];
    for await (const k of db.keys()) if (k.includes('!nm!')) before.push(k);
    expect(await store.rebuildSearchIndexes({ indexKey: Buffer.alloc(32, 9) })).toEqual({ records: 2 });
    const after: string[] = [];
    for await (const k of db.keys()) if (k.includes('!nm!')) after.push(k);
    expect(after.length).toBe(before.length);
    expect(after.filter((k) => before.includes(k))).toEqual([]);
    expect((await store.search({ name: '高橋一郎', birthDate: '1980-05-01' }, { limit: 5 })).total).toBe(1);
    expect((await store.search({ name: '渡辺花子', birthDate: '1980-05-01', includeDeleted: true }, { limit: 5 })).total).toBe(1);
    expect((await store.byMyNumber(mn(1)))?.residentCode).toBe(rc(1));
  });

  it('streams a municipality as of a sequence number while later changes land', async () => {
    await apply(person(1));
    await apply(person(2));
    await apply(person(3, { lgCode: '242021' }));
    const h = store.lastSeq();
    await apply(person(1, { address: '三重県津市大門1番地', changeReason: 'correct', changeDate: '2021-01-01' }));
    await apply(person(2, { lgCode: '242021', changeReason: 'correct', changeDate: '2021-01-01' }));
    await apply(person(4));
    const at = async (atSeq: number, lg = '242012') => {
      const out: string[] = [];
      for await (const r of store.iterateSnapshot(lg, atSeq)) out.push(`${r.residentCode}:${r.updateSeq}`);
      return out.sort();
    };
    expect(await at(h)).toEqual([`${rc(1)}:1`, `${rc(2)}:2`].sort());
    expect(await at(h, '242021')).toEqual([`${rc(3)}:3`]);
    expect(await at(store.lastSeq())).toEqual([`${rc(1)}:4`, `${rc(4)}:6`].sort());
    expect(await at(store.lastSeq(), '242021')).toEqual([`${rc(2)}:5`, `${rc(3)}:3`].sort());
    const changes: number[] = [];
    for await (const c of store.changesSince(h)) changes.push(c.seq);
    expect(changes).toEqual([4, 5, 6]);
  });

  it('lists a municipality in 住民票コード order from pseudonym keys, a dense code range in several passes', async () => {
    await db.close();
    db = await openApplianceDb(dir.path);
    store = await IdentityStore.open(db, { indexKey, codeRangeWindow: 3 }); // rc(n) all share their first digits
    const ns = [12, 3, 40, 7, 25, 1, 33, 18, 9, 50, 2];
    for (const n of ns) await apply(person(n, { lgCode: n === 40 ? '242021' : '242012' }));
    await apply(person(9, { lgCode: '242021', changeReason: 'correct', changeDate: '2021-01-01' }));
    const h = store.lastSeq();
    await apply(person(60));
    const codes = async (atSeq: number, after?: string) => {
      const o: string[] = [];
      for await (const r of store.iterateByCode('242012', atSeq, after)) o.push(r.residentCode);
      return o;
    };
    const inOrder = ns
      .filter((n) => n !== 40 && n !== 9)
      .sort((a, b) => a - b)
      .map(rc);
    expect(await codes(h)).toEqual(inOrder);
    expect(await codes(h - 1)).toEqual([...inOrder, rc(9)].sort()); // before 9 moved to 242021
    expect(await codes(store.lastSeq(), rc(12))).toEqual([...inOrder.filter((c) => c > rc(12)), rc(60)]);
    for await (const k of db.keys())
      expect(
        [...ns, 60].filter((n) => k.includes(rc(n))),
        k,
      ).toEqual([]);
  });
});
