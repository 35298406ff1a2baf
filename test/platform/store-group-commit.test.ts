// The group commit on a real LevelDB (platform/store/groupCommit.ts): several units of work in one
// batch, each one's writes all or nothing; one whose operations the database refuses fails alone;
// a dropped one leaves nothing; nothing is visible, and no commit resolves, before the group write.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { GroupCommit } from '../../platform/store/groupCommit.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import { tempDir } from '../helpers/tmp.js';
import { recordWrites } from '../helpers/write-recorder.js';

const dir = tempDir('jukigw-group-');
let db: Db;

beforeAll(async () => {
  db = await openApplianceDb(join(dir.path, 'db'));
});
afterAll(async () => {
  await db.close();
  dir.cleanup();
});

const sub = () => db.sublevel<string, unknown>('g', { valueEncoding: 'json' });

it('writes the staged units of work as one synced batch, then runs their hooks in order', async () => {
  const recorder = recordWrites();
  const group = new GroupCommit(db);
  group.open();
  const hooks: string[] = [];
  const commits: Array<Promise<void>> = [];
  let staged = 0;
  for (const name of ['a', 'b', 'c']) {
    const uow = new UnitOfWork(
      db,
      group.batch(() => {
        staged++;
      }),
    );
    uow.batch.put(`${name}1`, { name } as never, { sublevel: sub() as never });
    uow.batch.put(`${name}2`, { name } as never, { sublevel: sub() as never });
    uow.afterCommit(() => hooks.push(name));
    commits.push(uow.commit());
  }
  expect(staged).toBe(3);
  expect(group.size).toBe(3);
  await new Promise((r) => setTimeout(r, 20));
  expect(hooks).toEqual([]); // nothing released before the group is written
  expect(await sub().get('a1')).toBeUndefined();
  try {
    await group.close();
    await Promise.all(commits);
  } finally {
    recorder.stop();
  }
  expect(hooks).toEqual(['a', 'b', 'c']);
  const writes = recorder.trace.filter((e) => e.kind === 'write');
  expect(writes.length).toBe(1);
  expect(writes[0]).toMatchObject({ call: 'chained', sync: true });
  expect(writes[0]!.kind === 'write' && writes[0]!.ops.length).toBe(6);
  expect(await sub().get('c2')).toEqual({ name: 'c' });
  expect(group.groupsWritten).toBe(1);
});

it('fails a unit of work whose operations the database refuses alone; its batch-mates are written', async () => {
  const group = new GroupCommit(db);
  group.open();
  const good1 = new UnitOfWork(db, group.batch());
  good1.batch.put('ok1', { v: 1 } as never, { sublevel: sub() as never });
  const c1 = good1.commit();
  const bad = new UnitOfWork(db, group.batch());
  bad.batch.put('bad-first', { v: 1 } as never, { sublevel: sub() as never });
  bad.batch.put('bad-second', undefined as never, { sublevel: sub() as never }); // refused: no value
  const cBad = bad.commit();
  const good2 = new UnitOfWork(db, group.batch());
  good2.batch.put('ok2', { v: 2 } as never, { sublevel: sub() as never });
  const c2 = good2.commit();
  await expect(cBad).rejects.toThrow(/value/i);
  expect(group.size).toBe(2);
  await group.close();
  await Promise.all([c1, c2]);
  expect(await sub().get('ok1')).toEqual({ v: 1 });
  expect(await sub().get('ok2')).toEqual({ v: 2 });
  expect(await sub().get('bad-first')).toBeUndefined(); // nothing of the refused one
});

it('leaves nothing of a dropped unit of work, and writes alone once the group is closed', async () => {
  const group = new GroupCommit(db);
  group.open();
  const dropped = new UnitOfWork(db, group.batch());
  dropped.batch.put('dropped', { v: 1 } as never, { sublevel: sub() as never });
  await dropped.abandon();
  expect(group.size).toBe(0);
  await group.close();
  expect(await sub().get('dropped')).toBeUndefined();
  const late = new UnitOfWork(db, group.batch());
  late.batch.put('late', { v: 1 } as never, { sublevel: sub() as never });
  await late.commit(); // no open group: written at once
  expect(await sub().get('late')).toEqual({ v: 1 });
  expect(group.groupsWritten).toBe(0);
});

it('fails every member when the group write fails, and writes none of them', async () => {
  const other = await openApplianceDb(join(dir.path, 'db2'));
  const group = new GroupCommit(other);
  group.open();
  const a = new UnitOfWork(other, group.batch());
  a.batch.put('a', Buffer.from('x'));
  const b = new UnitOfWork(other, group.batch());
  b.batch.put('b', Buffer.from('y'));
  const commits = [a.commit(), b.commit()];
  await other.close(); // the write cannot happen
  await group.close();
  for (const c of commits) await expect(c).rejects.toThrow();
  const reopened = await openApplianceDb(join(dir.path, 'db2'));
  try {
    expect(await reopened.get('a')).toBeUndefined();
    expect(await reopened.get('b')).toBeUndefined();
  } finally {
    await reopened.close();
  }
});
