// The identity store's bytes on disk (layout 3) as a record's change leaves them: the short sublevel
// names, the listing values and the field names of the name index are what existing data dirs hold,
// so code may name them however it likes but must write exactly these (no data migration).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { IdentityStore } from '../../../gateway/cs/identityStore.js';
import { codePseudonym, indexHash, bucketPrefix, codeRangeTag, codeRangeOf, addressKey } from '../../../gateway/cs/identityStoreKeys.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
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
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('identity store layout on disk', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  const indexKey = Buffer.alloc(32, 7);
  const codeKey = Buffer.alloc(32, 9);

  beforeEach(async () => {
    dir = tempDir('cs-layout-');
    db = await openApplianceDb(dir.path);
  });
  afterEach(async () => {
    await db.close();
    dir.cleanup();
  });

  async function entries(name: string): Promise<Array<[string, Uint8Array]>> {
    const out: Array<[string, Uint8Array]> = [];
    const sub = db
      .sublevel<string, Uint8Array>(SUBLEVELS.identity, { valueEncoding: 'view' })
      .sublevel<string, Uint8Array>(name, { valueEncoding: 'view' });
    for await (const e of sub.iterator()) out.push(e);
    return out;
  }

  it('writes rec, hist, seq, lg, lc, mn, nm, nx, ad and meta with the keys and values of layout 3', async () => {
    const store = await IdentityStore.open(db, { indexKey, codeKey, recordDigest: (r) => `digest-of-${r.updateSeq}` });
    const first: IdentityChange = {
      residentCode: rc(1),
      myNumber: mn(1),
      lgCode: '242012',
      name: '髙橋　一郎',
      nameKana: 'たかはし　いちろう',
      birthDate: '1980-05-01',
      sex: '1',
      address: '三重県津市栄町二丁目3番4号',
      changeReason: 'add',
      changeDate: '2020-01-01',
    };
    for (const change of [
      first,
      { ...first, lgCode: '242021', address: '三重県四日市市諏訪町1番5号', changeReason: 'correct' as const, changeDate: '2021-01-01' },
    ]) {
      const b = db.batch();
      await store.apply(b, change);
      await b.write();
    }
    const p = codePseudonym(codeKey, rc(1));
    const h = (v: string) => indexHash(indexKey, v);
    const bucket = bucketPrefix(rc(1));
    const addr = addressKey('三重県四日市市諏訪町1番5号');

    expect((await entries('rec')).map(([k, v]) => [k, JSON.parse(text(v)).updateSeq])).toEqual([[p, 2]]);
    expect((await entries('hist')).map(([k, v]) => [k, JSON.parse(text(v)).lgCode])).toEqual([[`${p}!${'1'.padStart(16, '0')}`, '242012']]);
    expect((await entries('seq')).map(([k, v]) => [k, text(v)])).toEqual([
      ['1'.padStart(16, '0'), p],
      ['2'.padStart(16, '0'), p],
    ]);
    expect((await entries('lg')).map(([k, v]) => [k, text(v)])).toEqual([
      [`242012!${bucket}!${p}`, '2 -'],
      [`242021!${bucket}!${p}`, '2 digest-of-2'],
    ]);
    const tag = codeRangeTag(codeKey, codeRangeOf(rc(1)));
    expect((await entries('lc')).map(([k]) => k)).toEqual([`242012!${tag}!${p}`, `242021!${tag}!${p}`]);
    expect((await entries('mn')).map(([k]) => k)).toEqual([`${h('m:' + mn(1))}!${p}`]);
    expect((await entries('ad')).map(([k]) => k)).toEqual([`${h('a:' + addr)}!${p}`]);

    const nm = await entries('nm');
    expect(nm.length).toBeGreaterThan(1);
    for (const [k, v] of nm) {
      expect(k.endsWith(`!${p}`)).toBe(true);
      const value = JSON.parse(text(v));
      expect(Object.keys(value)).toEqual(['b', 'a', 's', 'l', 'st', 'kh']);
      expect(value).toMatchObject({ b: '1980-05-01', a: addr, s: '1', l: '242021', st: 'current' });
      expect(value.kh.length).toBeGreaterThan(0);
    }
    const nx = await entries('nx');
    expect(nx.length).toBe(nm.length * 2); // birth year and address area per name key
    expect(new Set(nx.map(([, v]) => text(v)))).toEqual(new Set(nm.map(([, v]) => text(v))));

    const meta = new Map((await entries('meta')).map(([k, v]) => [k, v]));
    expect([...meta.keys()].sort()).toEqual(['codeKeyCheck', 'layout', 'nx']);
    expect(text(meta.get('layout')!)).toBe('3');
    expect(text(meta.get('nx')!)).toBe('1');
    expect(text(meta.get('codeKeyCheck')!)).toBe(codePseudonym(codeKey, 'code-key-check'));
  });

  it('keeps generated keys in meta under indexKey and codeKey', async () => {
    await IdentityStore.open(db);
    const meta = new Map((await entries('meta')).map(([k, v]) => [k, v]));
    expect([...meta.keys()].sort()).toEqual(['codeKey', 'codeKeyCheck', 'indexKey', 'layout', 'nx']);
    expect(meta.get('indexKey')!.length).toBe(32);
    expect(meta.get('codeKey')!.length).toBe(32);
  });
});
