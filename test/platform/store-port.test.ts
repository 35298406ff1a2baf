// The commit path (platform/store/commitPath.ts) and the one opener (platform/store/db.ts): what
// reaches the store's StoragePort for each kind of write, the broker's group commit included, and
// the precise refusals at that boundary.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommitter, type Sublevel } from '../../broker/persistence/committer.js';
import { openApplianceDb, openDbForReading, storeLocked, type Db } from '../../platform/store/db.js';
import { levelPort } from '../../platform/store/levelPort.js';
import type { CommitOptions, KeyRange, StoragePort, StoreOp } from '../../platform/store/port.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

type Seen = { commit: StoreOp[]; options: CommitOptions } | { clear: KeyRange; options: CommitOptions };

const dirs: Array<{ cleanup(): void }> = [];
const dbs: Db[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function dir(): string {
  const d = tempDir('jukigw-port-');
  dirs.push(d);
  return d.path;
}

/** An appliance DB whose port records what it is given, then writes it to LevelDB. */
async function recorded(opts: { sync?: boolean } = {}): Promise<{ db: Db; seen: Seen[]; path: string }> {
  const seen: Seen[] = [];
  const path = join(dir(), 'db');
  const db = await openApplianceDb(path, {
    ...opts,
    port: (d) => {
      const local = levelPort(d);
      return {
        async commit(ops, options) {
          seen.push({ commit: ops, options });
          await local.commit(ops, options);
        },
        async clearRange(range, options) {
          seen.push({ clear: range, options });
          await local.clearRange(range, options);
        },
      } satisfies StoragePort;
    },
  });
  dbs.push(db);
  return { db, seen, path };
}

const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');
const shown = (s: Seen) =>
  ('commit' in s
    ? s.commit.map((o) => (o.type === 'put' ? `put ${o.key}=${text(o.value)}` : `del ${o.key}`)).join(' ')
    : `clear ${JSON.stringify(s.clear)}`) + (s.options.sync ? ' (sync)' : '');

describe('the commit path', () => {
  it('hands every kind of write to the port as full string keys and stored bytes, synced unless the caller says otherwise', async () => {
    const { db, seen } = await recorded();
    const json = db.sublevel<string, unknown>('j', { valueEncoding: 'json' });
    const nested = db.sublevel<string, Uint8Array>('a', { valueEncoding: 'view' }).sublevel<string, string>('b', { valueEncoding: 'utf8' });
    await db.put('k', new Uint8Array([0x31]));
    await json.put('x', { n: 1 });
    await nested.del('y', { sync: false } as never);
    await db.batch([
      { type: 'put', key: 'k2', value: Buffer.from('2') },
      { type: 'put', key: 'z', value: 'v' as never, sublevel: nested as never },
    ]);
    await json.batch().put('c', [1]).del('d').write();
    const uow = new UnitOfWork(db);
    uow.batch.put('u', 'w' as never, { sublevel: nested as never });
    await uow.commit();
    await nested.clear();
    await json.clear({ gt: 'a', lte: 'c' });
    expect(seen.map(shown)).toEqual([
      'put k=1 (sync)',
      'put !j!x={"n":1} (sync)',
      'del !a!!b!y',
      'put k2=2 put !a!!b!z=v (sync)',
      'put !j!c=[1] del !j!d (sync)',
      'put !a!!b!u=w (sync)',
      'clear {"gte":"!a!!b!","lt":"!a!!b\\"\\u0000"} (sync)',
      'clear {"gte":"!j!a\\u0000","lt":"!j!c\\u0000"} (sync)',
    ]);
    for (const s of seen) if ('commit' in s) for (const op of s.commit) if (op.type === 'put') expect(op.value).toBeInstanceOf(Uint8Array);
    // What the port was given is what LevelDB holds: the clear took !j!c, kept !j!x (outside the range).
    expect(await db.keys().all()).toEqual(['!j!x', 'k', 'k2']);
  });

  it('syncs nothing by default when opened with sync off (broker.syncWrites: false)', async () => {
    const { db, seen } = await recorded({ sync: false });
    await db.put('k', new Uint8Array([1]));
    await db.batch().del('k').write();
    await db.put('s', new Uint8Array([1]), { sync: true });
    expect(seen.map((s) => s.options.sync)).toEqual([false, false, true]);
  });

  it('refuses a key that is not UTF-8, a clear without an upper bound or with a limit, naming the problem; nothing is written', async () => {
    const { db, seen } = await recorded();
    await expect(db.put(Buffer.from([0x21, 0xff, 0xfe]) as never, new Uint8Array([1]), { keyEncoding: 'buffer' } as never)).rejects.toThrow(
      'store key 21fffe (hex) is not UTF-8: the store keeps UTF-8 keys only',
    );
    await expect(db.clear({ gte: 'a' })).rejects.toThrow(
      'store clear: the range needs an upper bound (lt or lte); clear a sublevel, not the whole store',
    );
    await expect(db.clear({ gte: 'a', lt: 'b', limit: 3 })).rejects.toThrow(
      'store clear: a limit is not supported (clear a bounded range instead)',
    );
    expect(seen).toEqual([]);
  });

  it("writes the broker's group commits through the store's port", async () => {
    const { db, seen } = await recorded();
    const q = db.sublevel('q', { keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as Sublevel;
    const c = new GroupCommitter(db, true, { onWriteError: () => {}, onRecovered: () => {} });
    await c.commit([
      { type: 'put', key: 'm1', value: Buffer.from('a'), sublevel: q },
      { type: 'del', key: 'm0', sublevel: q },
    ]);
    c.stageDelete(q, 'acked'); // a subscriber's acknowledgement: nobody waits, written unsynced on its own
    await until(() => seen.length === 2, 15_000, 'the staged batch written');
    expect(seen.map(shown)).toEqual(['put !q!m1=a del !q!m0 (sync)', 'del !q!acked']);
  });
});

describe('the openers', () => {
  it('opens a store for reading that refuses every write with its path', async () => {
    const { db, path } = await recorded();
    await db.put('k', new Uint8Array([1]));
    await db.close();
    dbs.splice(0);
    const ro = await openDbForReading(path);
    try {
      expect([...(await ro.get('k'))!]).toEqual([1]);
      await expect(ro.put('k', new Uint8Array([2]))).rejects.toThrow(`the store at ${path} is open for reading only: nothing was written`);
      await expect(ro.sublevel('s').clear()).rejects.toThrow(`the store at ${path} is open for reading only: nothing was written`);
    } finally {
      await ro.close();
    }
    await expect(openDbForReading(join(dir(), 'absent'))).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' });
  });

  it('tells a store held by another opener from a free or absent one', async () => {
    const { db, path } = await recorded();
    expect(await storeLocked(path)).toBe(true);
    await db.close();
    dbs.splice(0);
    expect(await storeLocked(path)).toBe(false);
    expect(await storeLocked(join(dir(), 'absent'))).toBe(false);
  });
});
