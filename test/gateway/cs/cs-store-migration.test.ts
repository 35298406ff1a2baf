// Layout migration of the identity store: a data dir written by the layout-1 store (住民票コード in
// clear in keys; test/fixtures/identity-store-layout1, made by generate.ts.txt against commit 5b271a1,
// with that store's answers in expected.json) opens under layout 2 with every answer unchanged, no
// code left in any key, and an interrupted migration resumes. A store opened under another code key
// is refused, not read as empty.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { IdentityStore, IdentityStoreOpenError } from '../../../gateway/cs/identityStore.js';
import type { IdentityRecord, ValueCodec } from '../../../gateway/cs/identityStoreTypes.js';
import { SessionStore } from '../../../gateway/cs/consistency/sessionStore.js';
import { tempDir } from '../../helpers/tmp.js';

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'identity-store-layout1');
const indexKey = Buffer.alloc(32, 3);
const codeKey = Buffer.alloc(32, 4);

interface Expected {
  lastSeq: number;
  mid: number;
  lgCodes: string[];
  codes: string[];
  history: Record<string, IdentityRecord[]>;
  atMid: Record<string, IdentityRecord | null>;
  listing: Record<string, { now: string[]; mid: string[] }>;
  byCode: Record<string, { now: string[]; mid: string[] }>;
  changesSince: { after: number; changes: Array<{ seq: number; residentCode: string }> };
  byMyNumber: Record<string, string | null>;
  byAddress: Record<string, string[]>;
  search: Array<{ q: { name: string; birthDate: string; includeDeleted: boolean }; codes: string[] }>;
}
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

async function answers(store: IdentityStore) {
  const e = expected;
  const listing = async (lg: string, at: number) => {
    const o: string[] = [];
    for await (const d of store.iterateDigests(lg, at)) o.push(`${d.residentCode}:${d.digest}`);
    return o.sort();
  };
  const byCode = async (lg: string, at: number) => {
    const o: string[] = [];
    for await (const r of store.iterateByCode(lg, at)) o.push(`${r.residentCode}:${r.updateSeq}`);
    return o;
  };
  const changes: Array<{ seq: number; residentCode: string }> = [];
  for await (const c of store.changesSince(e.changesSince.after)) changes.push(c);
  return {
    lastSeq: store.lastSeq(),
    mid: e.mid,
    lgCodes: e.lgCodes,
    codes: e.codes,
    history: Object.fromEntries(await Promise.all(e.codes.map(async (c) => [c, await store.history(c)]))),
    atMid: Object.fromEntries(await Promise.all(e.codes.map(async (c) => [c, (await store.versionAt(c, e.mid)) ?? null]))),
    listing: Object.fromEntries(
      await Promise.all(e.lgCodes.map(async (lg) => [lg, { now: await listing(lg, store.lastSeq()), mid: await listing(lg, e.mid) }])),
    ),
    byCode: Object.fromEntries(
      await Promise.all(e.lgCodes.map(async (lg) => [lg, { now: await byCode(lg, store.lastSeq()), mid: await byCode(lg, e.mid) }])),
    ),
    changesSince: { after: e.changesSince.after, changes },
    byMyNumber: Object.fromEntries(
      await Promise.all(Object.keys(e.byMyNumber).map(async (n) => [n, (await store.byMyNumber(n))?.residentCode ?? null])),
    ),
    byAddress: Object.fromEntries(
      await Promise.all(
        Object.keys(e.byAddress).map(async (a) => [
          a,
          (await store.byAddress(a, { includeDeleted: true })).map((r) => r.residentCode).sort(),
        ]),
      ),
    ),
    search: await Promise.all(
      e.search.map(async ({ q }) => ({ q, codes: (await store.search(q, { limit: 50 })).hits.map((h) => h.residentCode).sort() })),
    ),
  };
}

/** Every identity-store key that still names a 住民票コード of the fixture. */
async function keysWithCodes(db: Db): Promise<string[]> {
  const out: string[] = [];
  for await (const k of db.keys({ gt: '!identity!', lt: '!identity"' })) if (expected.codes.some((c) => k.includes(c))) out.push(k);
  return out;
}

describe('identity store layout migration', () => {
  const dir = tempDir('cs-store-migrate-');
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });
  afterAll(() => dir.cleanup());

  const copy = (name: string) => {
    const path = join(dir.path, name);
    cpSync(join(FIXTURE, 'db'), path, { recursive: true });
    return path;
  };

  it('the fixture is a layout-1 store: codes in clear in its keys', async () => {
    db = await openApplianceDb(copy('raw'));
    expect((await keysWithCodes(db)).length).toBeGreaterThan(expected.codes.length * 5);
  });

  it('moves every key to pseudonyms on open and answers exactly as the layout-1 store did', async () => {
    const path = copy('whole');
    db = await openApplianceDb(path);
    const progress: string[] = [];
    const store = await IdentityStore.open(db, { indexKey, codeKey, onMigrate: (p) => progress.push(p.sublevel) });
    expect(new Set(progress)).toEqual(new Set(['rec', 'hist', 'seq', 'lg', 'lc', 'mn', 'nm', 'ad']));
    expect(await keysWithCodes(db)).toEqual([]);
    expect(await answers(store)).toEqual(expected);
    // reopening finds nothing left to move; the store keeps working
    await db.close();
    db = await openApplianceDb(path);
    const again: string[] = [];
    const reopened = await IdentityStore.open(db, { indexKey, codeKey, onMigrate: (p) => again.push(p.sublevel) });
    expect(again).toEqual([]);
    const code = expected.codes[0]!;
    const b = db.batch();
    const cur = (await reopened.get(code))!;
    await reopened.apply(b, { ...cur, address: cur.address + '　二階', changeReason: 'correct', changeDate: '2026-11-01' });
    await b.write();
    expect((await reopened.history(code)).length).toBe(expected.history[code]!.length + 1);
  });

  it('resumes an interrupted migration on the next open', async () => {
    const path = copy('interrupted');
    db = await openApplianceDb(path);
    await expect(
      IdentityStore.open(db, {
        indexKey,
        codeKey,
        onMigrate: (p) => {
          if (p.sublevel === 'lg') throw new Error('power cut');
        },
      }),
    ).rejects.toThrow('power cut');
    const left = await keysWithCodes(db);
    expect(left.length).toBeGreaterThan(0);
    expect(left.some((k) => k.startsWith('!identity!!rec!'))).toBe(false); // rec, hist, seq and lg were done
    await db.close();
    db = await openApplianceDb(path);
    const store = await IdentityStore.open(db, { indexKey, codeKey });
    expect(await keysWithCodes(db)).toEqual([]);
    expect(await answers(store)).toEqual(expected);
  });

  it('refuses to open under another 住民票コード key', async () => {
    const path = copy('rekeyed');
    db = await openApplianceDb(path);
    await IdentityStore.open(db, { indexKey, codeKey });
    await db.close();
    db = await openApplianceDb(path);
    await expect(IdentityStore.open(db, { indexKey, codeKey: Buffer.alloc(32, 5) })).rejects.toBeInstanceOf(IdentityStoreOpenError);
    // nor with none (a random one would be kept in meta): refused before anything is written
    const before = await db.keys({ gt: '!identity!', lt: '!identity"' }).all();
    await expect(IdentityStore.open(db, { indexKey })).rejects.toThrow(/another 住民票コード key/);
    expect(await db.keys({ gt: '!identity!', lt: '!identity"' }).all()).toEqual(before);
    expect((await (await IdentityStore.open(db, { indexKey, codeKey })).get(expected.codes[0]!))?.residentCode).toBe(expected.codes[0]);
  });

  it("refuses a layout-2 store (a development build's keys) with what to do", async () => {
    db = await openApplianceDb(join(dir.path, 'layout2'));
    await db.put('!identity!!meta!layout', Buffer.from('2'));
    await expect(IdentityStore.open(db, { indexKey, codeKey })).rejects.toThrow(
      /layout 2.*import the register extract into a fresh data dir/,
    );
  });

  it('moves stored consistency sessions to pseudonym keys and the codec', async () => {
    db = await openApplianceDb(join(dir.path, 'sessions'));
    const code = expected.codes[0]!;
    const state = { id: 's1', lgCode: '242012', mode: 'full', cursor: code, done: false };
    const diff = { residentCode: code, kind: 'cs_only' };
    const b = db.batch();
    b.put('!consistency!!session!s1', Buffer.from(JSON.stringify(state)));
    b.put(`!consistency!!diff!s1!${code}`, Buffer.from(JSON.stringify(diff)));
    await b.write();
    const xor: ValueCodec = {
      encode: (v) => Buffer.from(JSON.stringify(v)).map((x) => x ^ 0x5a),
      decode: (v) => {
        const t = Buffer.from(v)
          .map((x) => x ^ 0x5a)
          .toString();
        if (!t.startsWith('{')) throw new Error('not mine');
        return JSON.parse(t);
      },
    };
    const sessions = new SessionStore(db, { codec: xor, keyOf: (c) => `P${c.split('').reverse().join('')}x` });
    expect(await sessions.list()).toEqual([state]);
    expect(await sessions.hasDifference('s1', code)).toBe(true);
    const diffs = [];
    for await (const d of sessions.differences('s1')) diffs.push(d);
    expect(diffs).toEqual([diff]);
    for await (const [k, v] of db.iterator({ gt: '!consistency!', lt: '!consistency"' })) {
      expect(k.includes(code)).toBe(false);
      expect(Buffer.from(v).toString('latin1').includes(code)).toBe(false);
    }
  });
});
