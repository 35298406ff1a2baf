// The appliance DB's write policy (platform/store/commitPath.ts), watched at classic-level's native
// binding: by default every kind of write is synced unless its caller says otherwise; the opt-out
// (broker.syncWrites: false) syncs nothing. The broker's group committer, which decides per
// batch: only a batch of subscribers' acknowledgements goes unsynced. And a backup restore.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GroupCommitter, type HeldFanout, type Sublevel } from '../../broker/persistence/committer.js';
import { rawBatchOf } from '../../broker/persistence/batchWrite.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import { createBackup } from '../../gateway/backup/index.js';
import { restoreBackup, verifyBackup } from '../../gateway/backup/restore.js';
import { testSigner } from '../gateway/audit/audit-helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';
import { recordWrites, type RecordedWrite, type WriteRecorder } from '../helpers/write-recorder.js';

let recorder: WriteRecorder;
beforeAll(() => {
  recorder = recordWrites();
});
afterAll(() => recorder.stop());

const dirs: Array<{ cleanup(): void }> = [];
const dbs: Db[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

async function open(opts?: { sync?: boolean }): Promise<{ db: Db; dir: string; writes: () => RecordedWrite[] }> {
  const d = tempDir('jukigw-syncw-');
  dirs.push(d);
  const location = join(d.path, 'db');
  const db = await openApplianceDb(location, opts);
  dbs.push(db);
  const from = recorder.trace.length;
  return {
    db,
    dir: d.path,
    writes: () => recorder.trace.slice(from).filter((e): e is RecordedWrite => e.kind === 'write' && e.location === location),
  };
}

/** One write of each kind the code base uses: db put/del, sublevel put/del, array batches, chained batches, a unit of work. */
async function everyKindOfWrite(db: Db): Promise<void> {
  const sub = db.sublevel<string, string>('s', { valueEncoding: 'json' });
  await db.put('k', new Uint8Array([1]));
  await db.del('k');
  await sub.put('a', 'x');
  await sub.del('a');
  await db.batch([{ type: 'put', key: 'b', value: new Uint8Array([2]) }]);
  await sub.batch([{ type: 'put', key: 'c', value: 'y' }]);
  await db
    .batch()
    .put('d', new Uint8Array([3]))
    .write();
  await sub.batch().put('e', 'z').write();
  const uow = new UnitOfWork(db);
  uow.batch.put('f', 'w' as never, { sublevel: sub as never });
  await uow.commit();
}

describe('appliance DB write policy', () => {
  it('syncs every kind of write by default', async () => {
    const { db, writes } = await open();
    await everyKindOfWrite(db);
    const w = writes();
    // Every kind ends in the port's one native write, a chained batch (platform/store/levelPort.ts).
    expect(w.map((x) => [x.call, x.ops.map((o) => `${o.type} ${o.key}`).join()])).toEqual([
      ['chained', 'put k'],
      ['chained', 'del k'],
      ['chained', 'put !s!a'],
      ['chained', 'del !s!a'],
      ['chained', 'put b'],
      ['chained', 'put !s!c'],
      ['chained', 'put d'],
      ['chained', 'put !s!e'],
      ['chained', 'put !s!f'],
    ]);
    expect(w.filter((x) => !x.sync)).toEqual([]);
  });

  it("keeps a caller's own sync: false", async () => {
    const { db, writes } = await open();
    await db.put('k', new Uint8Array([1]), { sync: false });
    await db.batch([{ type: 'del', key: 'k' }], { sync: false });
    await db.batch().del('k').write({ sync: false });
    expect(writes().map((x) => x.sync)).toEqual([false, false, false]);
  });

  it('syncs nothing when opted out (broker.syncWrites: false, process-crash safety only)', async () => {
    const { db, writes } = await open({ sync: false });
    await everyKindOfWrite(db);
    const w = writes();
    expect(w.length).toBe(9);
    expect(w.filter((x) => x.sync)).toEqual([]);
  });

  it("lets the broker's fast batch path choose sync itself on the default DB", async () => {
    const { db, writes } = await open();
    const raw = rawBatchOf(db)!;
    expect(raw).toBeTypeOf('function');
    await raw([{ type: 'put', key: 'x', value: new Uint8Array([1]) }], { sync: false });
    await raw([{ type: 'put', key: 'y', value: new Uint8Array([1]) }], { sync: true });
    expect(writes().map((x) => [x.ops.map((o) => o.key).join(), x.sync])).toEqual([
      ['x', false],
      ['y', true],
    ]);
  });
});

describe('group committer with sync on', () => {
  const sublevelOf = (db: Db, name: string) => db.sublevel(name, { keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as Sublevel;
  const committer = (db: Db) => new GroupCommitter(db, true, { onWriteError: () => {}, onRecovered: () => {} });

  it("leaves only a batch of subscribers' acknowledgements unsynced", async () => {
    const { db, writes } = await open();
    const q = sublevelOf(db, 'q');
    const c = committer(db);
    c.stageDelete(q, 'acked');
    await until(() => writes().length === 1, 15_000, 'the staged batch written'); // nobody waits: written on its own
    await c.commit([{ type: 'put', key: 'committed', value: new Uint8Array([1]), sublevel: q }]);
    c.stage([{ type: 'put', key: 'retained', value: new Uint8Array([1]), sublevel: q }]);
    await until(() => writes().length === 3, 15_000, 'the staged batch written');
    expect(writes().map((x) => [x.ops.map((o) => `${o.type} ${o.key}`).join(), x.sync])).toEqual([
      ['del !q!acked', false],
      ['put !q!committed', true],
      ['put !q!retained', true],
    ]);
  });

  it('syncs a batch that carries a held fan-out nobody waits for', async () => {
    const { db, writes } = await open();
    const q = sublevelOf(db, 'q');
    const c = committer(db);
    const fanout: HeldFanout = {
      seq: 1,
      release(out) {
        out.push({ type: 'put', key: `${q.prefix}fanned`, value: new Uint8Array([1]) });
      },
      failed() {},
    };
    c.hold(fanout);
    await until(() => writes().length === 1, 15_000, 'the held fan-out written');
    expect(writes().map((x) => [x.ops.map((o) => o.key).join(), x.sync])).toEqual([['!q!fanned', true]]);
  });
});

describe('backup restore', () => {
  it('writes the restored database with every batch synced', async () => {
    const { db, dir: dataDir } = await open({ sync: false });
    const b = db.batch();
    for (let i = 0; i < 12_000; i++) b.put(`k${i}`, new Uint8Array([i & 255]));
    await b.write();
    await db.close();
    dbs.splice(dbs.indexOf(db), 1);
    const { file } = await createBackup({ dataDir, signer: await testSigner(), plaintext: true });
    const from = recorder.trace.length;
    const target = join(dataDir, 'restored');
    expect((await restoreBackup(verifyBackup(file), target)).records).toBe(12_000);
    const writes = recorder.trace
      .slice(from)
      .filter((e): e is RecordedWrite => e.kind === 'write' && e.location.includes('.restored.restore-'));
    expect(writes.length).toBe(3); // 5000 records a batch
    expect(writes.filter((w) => !w.sync)).toEqual([]);
  });
});
