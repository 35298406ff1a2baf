// Outbox on a real LevelDB: atomic enqueue with the caller's batch, order per partition, parallelism
// across partitions, backoff, dead-letter queue operations, and recovery of the index after a restart.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { nowIso, uuidv7, type Envelope } from '../../../platform/envelope.js';
import { Outbox } from '../../../gateway/uplink/outbox.js';
import { until } from '../../helpers/until.js';
import { tempDir } from '../../helpers/tmp.js';

const dirs: { cleanup(): void }[] = [];
const dbs: Db[] = [];
afterEach(async () => {
  for (const d of dbs.splice(0)) await d.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function notify(residentCode: string, n: number): Envelope {
  return {
    v: 1,
    id: uuidv7(),
    type: 'identity.notify',
    from: 'lg:242012',
    to: 'pref:240001',
    at: nowIso(),
    corr: null,
    body: { residentCode, n },
  };
}

async function open(path?: string, maxAttempts = 3, backoffMs = 15) {
  const dir = path ? undefined : tempDir('outbox-');
  if (dir) dirs.push(dir);
  const db = await openApplianceDb(path ?? dir!.path);
  dbs.push(db);
  const outbox = new Outbox({
    db,
    route: () => 'juki',
    retry: { initialMs: 10, maxMs: 20, maxAttempts },
    backoff: () => backoffMs,
    rescanMs: 20,
  });
  await outbox.open();
  return { db, outbox, path: path ?? dir!.path };
}

describe('outbox', () => {
  it('commits with the business change in one batch, or not at all', async () => {
    const { db, outbox } = await open();
    const business = db.sublevel<string, string>(SUBLEVELS.identity, { valueEncoding: 'utf8' });
    const b = db.batch();
    b.put<string, string>('r!1', 'v1', { sublevel: business as never });
    outbox.enqueue(b, notify('12345678901', 1));
    await outbox.commit(b);
    expect(await business.get('r!1')).toBe('v1');
    expect(outbox.stats().juki?.depth).toBe(1);

    const abandoned = db.batch();
    abandoned.put<string, string>('r!2', 'v2', { sublevel: business as never });
    outbox.enqueue(abandoned, notify('12345678901', 2));
    await abandoned.close();
    await outbox.notify();
    expect(await business.get('r!2')).toBeUndefined();
    expect((await outbox.list()).length).toBe(1);
    outbox.close();
  });

  it('does not hold a person back for a batch the flow abandoned', async () => {
    const { db, outbox } = await open();
    const failed = db.batch();
    outbox.enqueue(failed, notify('44444444444', 1));
    outbox.abandon(failed);
    await failed.close();
    const next = db.batch();
    const s2 = outbox.enqueue(next, notify('44444444444', 2));
    await outbox.commit(next);
    expect(outbox.takeReady('juki', 10)).toEqual([s2]);
    outbox.close();
  });

  it('indexes a batch written without commit() through the periodic rescan', async () => {
    const { db, outbox } = await open();
    const b = db.batch();
    outbox.enqueue(b, notify('12345678901', 1));
    await b.write();
    await new Promise((r) => setTimeout(r, 80));
    expect(outbox.takeReady('juki', 10)).toHaveLength(1);
    outbox.close();
  });

  it('indexes the commits of a moment with a few reads of what is staged, not one read each', async () => {
    // A group commit of the intake ends with one commit hook per request, each asking the outbox to
    // index what was written: 64 such calls read the staged entries 64 times before.
    const { db, outbox } = await open();
    const getMany = vi.spyOn(db, 'getMany');
    try {
      const batches = Array.from({ length: 64 }, (_, i) => {
        const b = db.batch();
        outbox.enqueue(b, notify(String(10_000_000_000 + i), 1));
        return b;
      });
      await Promise.all(batches.map((b) => b.write()));
      // The periodic rescan may have read while they were written; counted from here.
      getMany.mockClear();
      await Promise.all(batches.map(() => outbox.notify()));
      const reads = getMany.mock.calls.filter(([ks]) => ks.some((k) => String(k).startsWith('!outbox!q!')));
      console.info(`outbox index: 64 notify calls, ${reads.length} reads of ${reads.map(([ks]) => ks.length).join('+')} keys`);
      expect(outbox.stats().juki?.depth).toBe(64);
      expect(outbox.takeReady('juki', 100)).toHaveLength(64);
      expect(reads.length).toBeGreaterThan(0);
      expect(reads.length).toBeLessThanOrEqual(2);
    } finally {
      getMany.mockRestore();
      outbox.close();
    }
  });

  it('a notify called while one is reading still indexes what was written just before it', async () => {
    const { db, outbox } = await open();
    const first = db.batch();
    outbox.enqueue(first, notify('33333333333', 1));
    await first.write();
    const reading = outbox.notify();
    const second = db.batch();
    const seq = outbox.enqueue(second, notify('44444444444', 1));
    await second.write();
    await outbox.notify();
    expect(outbox.takeReady('juki', 10)).toContain(seq);
    await reading;
    outbox.close();
  });

  it('a notify waiting behind a pass whose read failed reads again, and later ones too', async () => {
    const { db, outbox } = await open();
    const b = db.batch();
    const seq = outbox.enqueue(b, notify('55555555555', 1));
    await b.write();
    const getMany = vi.spyOn(db, 'getMany').mockRejectedValueOnce(new Error('read failed (test)'));
    try {
      const failing = outbox.notify();
      const behind = outbox.notify();
      await expect(failing).rejects.toThrow('read failed (test)');
      await behind;
      expect(outbox.takeReady('juki', 10)).toEqual([seq]);
      const c = db.batch();
      const next = outbox.enqueue(c, notify('66666666666', 1));
      await c.write();
      await outbox.notify();
      expect(outbox.takeReady('juki', 10)).toEqual([next]);
    } finally {
      getMany.mockRestore();
      outbox.close();
    }
  });

  it('hands out one message per partition at a time, in seq order, parallel across partitions', async () => {
    // A backoff long enough that a loaded machine cannot let it pass between failed() and the check below.
    const { db, outbox } = await open(undefined, 3, 400);
    const b = db.batch();
    const a = [1, 2, 3].map((n) => outbox.enqueue(b, notify('11111111111', n)));
    const c = [1, 2].map((n) => outbox.enqueue(b, notify('22222222222', n)));
    await outbox.commit(b);
    expect(outbox.takeReady('juki', 10).sort()).toEqual([a[0], c[0]].sort());
    expect(outbox.takeReady('juki', 10)).toEqual([]);
    await outbox.delivered(a[0]!);
    expect(outbox.takeReady('juki', 10)).toEqual([a[1]]);
    // A retry keeps its partition blocked until the backoff ends: order is never broken.
    expect(await outbox.failed(a[1]!, 'publish: down')).toBe('retry');
    expect(outbox.takeReady('juki', 10)).toEqual([]);
    let ready: number[] = [];
    await until(() => (ready = outbox.takeReady('juki', 10)).length > 0, 5_000, 'the retry after its backoff');
    expect(ready).toEqual([a[1]]);
    expect((await outbox.load(a[1]!))?.attempts).toBe(1);
    outbox.close();
  });

  it('dead-letters after the attempt limit or a permanent rejection; retry and purge work', async () => {
    const { db, outbox } = await open(undefined, 2);
    const dead: number[] = [];
    outbox.on('dead', (e) => dead.push(e.seq));
    const b = db.batch();
    const p1 = outbox.enqueue(b, notify('11111111111', 1));
    const p2 = outbox.enqueue(b, notify('11111111111', 2));
    const q1 = outbox.enqueue(b, notify('33333333333', 1));
    await outbox.commit(b);
    outbox.takeReady('juki', 10);
    expect(await outbox.failed(q1, 'invalid_request: bad', { permanent: true })).toBe('dead');
    expect(await outbox.failed(p1, 'ack_timeout')).toBe('retry');
    await new Promise((r) => setTimeout(r, 30));
    expect(outbox.takeReady('juki', 10)).toEqual([p1]);
    expect(await outbox.failed(p1, 'ack_timeout')).toBe('dead');
    expect(dead).toEqual([q1, p1]);
    // The dead message no longer blocks the person's next one.
    expect(outbox.takeReady('juki', 10)).toEqual([p2]);
    expect(outbox.stats().juki).toMatchObject({ dead: 2, depth: 1 });
    const listed = await outbox.list({ dead: true });
    expect(listed.map((e) => e.seq)).toEqual([p1, q1]);
    expect(listed[0]).not.toHaveProperty('envelope');
    expect(listed[1]!.reason).toMatch(/rejected: invalid_request/);

    expect(await outbox.retry(q1, { dead: true })).toBe(true);
    expect(outbox.stats().juki).toMatchObject({ dead: 1, depth: 2 });
    expect(await outbox.purge('all', { dead: true })).toBe(1);
    expect(outbox.stats().juki?.dead).toBe(0);
    expect(await outbox.retry(999, { dead: true })).toBe(false);
    outbox.close();
  });

  it('rebuilds the queue from disk after a restart, keeping attempts and seq order', async () => {
    const first = await open();
    const b = first.db.batch();
    const s = [1, 2, 3].map((n) => first.outbox.enqueue(b, notify('11111111111', n)));
    await first.outbox.commit(b);
    first.outbox.takeReady('juki', 1);
    await first.outbox.failed(s[0]!, 'publish: down');
    first.outbox.close();
    await first.db.close();
    dbs.splice(dbs.indexOf(first.db), 1);

    const again = await open(first.path);
    await new Promise((r) => setTimeout(r, 30));
    expect(again.outbox.takeReady('juki', 10)).toEqual([s[0]]);
    expect((await again.outbox.load(s[0]!))?.attempts).toBe(1);
    const b2 = again.db.batch();
    expect(again.outbox.enqueue(b2, notify('11111111111', 4))).toBe(s[2]! + 1);
    await b2.close();
    again.outbox.close();
  });
});
