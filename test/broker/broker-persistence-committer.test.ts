// The group committer writes one batch at a time (LevelDB may apply two concurrent batches out of
// order); a failed batch applies and acknowledges nothing, work queued behind it is written after it,
// and the committer recovers. A real LevelDB, with one write made to fail.
import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { GroupCommitter, type Sublevel } from '../../broker/persistence/committer.js';
import type { Db } from '../../platform/store/db.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openDb(): Promise<Db> {
  const d = tempDir('jukigw-bpc-');
  const db = new ClassicLevel<string, Uint8Array>(d.path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(d.cleanup);
  cleanups.push(() => db.close());
  return db;
}

describe('group committer: one batch at a time', () => {
  it('fails a batch whose write fails, applies nothing of it, writes the work queued behind it after it, and recovers', async () => {
    const db = await openDb();
    const sub = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('t', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const realBatch = db.batch.bind(db) as (ops: unknown, o: unknown) => Promise<void>;
    let calls = 0;
    let writing = 0;
    let concurrent = 0;
    (db as unknown as { batch: unknown }).batch = async (ops: unknown, o: unknown) => {
      const n = ++calls;
      writing++;
      concurrent = Math.max(concurrent, writing);
      try {
        await new Promise((r) => setTimeout(r, 20));
        if (n === 1) throw new Error('injected write failure');
        return await realBatch(ops, o);
      } finally {
        writing--;
      }
    };
    const events: string[] = [];
    const c = new GroupCommitter(db, true, {
      onWriteError: (e) => events.push(`error: ${e.message}`),
      onRecovered: () => events.push('recovered'),
    });
    const applied: string[] = [];
    const put = (k: string) => c.commit([{ type: 'put', key: k, value: Buffer.from(k), sublevel: sub }], () => applied.push(k));

    const a = put('a');
    await new Promise((r) => setImmediate(r)); // batch 1 starts
    const b = put('b'); // queued while batch 1 is being written
    const [ra, rb] = await Promise.allSettled([a, b]);
    expect(ra.status).toBe('rejected');
    expect(String((ra as PromiseRejectedResult).reason)).toContain('injected write failure');
    expect(concurrent).toBe(1);
    expect(await sub.get('a')).toBeUndefined();
    // b was not part of the failed batch: it is written after it, or refused — never applied without being on disk
    if (rb.status === 'fulfilled') expect(Buffer.from((await sub.get('b'))!).toString()).toBe('b');
    else expect(applied).not.toContain('b');

    await put('c');
    expect(applied).toContain('c');
    expect(applied).not.toContain('a');
    expect(events[0]).toBe('error: injected write failure');
    expect(events).toContain('recovered');
  });

  it('completes batches in the order they were queued, one batch written at a time (LevelDB may apply concurrent batches out of order)', async () => {
    const db = await openDb();
    const sub = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('t', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const c = new GroupCommitter(db, true, { onWriteError: () => {}, onRecovered: () => {} });
    const order: number[] = [];
    const all: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      all.push(
        c.commit([{ type: 'put', key: String(i).padStart(3, '0'), value: Buffer.from([i]), sublevel: sub }], undefined).then(() => {
          order.push(i);
        }),
      );
      if (i % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toEqual([...Array(50).keys()]);
    expect(c.stats.overlapped).toBe(0);
    expect(c.stats.batches).toBeLessThan(50); // what arrives during a write shares the next one
  });
});

describe('group committer: the fan-out watermark at a clean stop', () => {
  // A batch's watermark never covers a fan-out of a batch still being written (it could fail). With one
  // batch at a time each batch covers its own; drain() (run at a clean stop) writes a last watermark
  // only when one is missing, so the next start replays nothing already fanned out.
  it('leaves nothing fanned out to replay at a clean stop', async () => {
    const db = await openDb();
    const meta = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('m', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const queue = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('q', {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const realBatch = db.batch.bind(db) as (ops: unknown, o: unknown) => Promise<void>;
    let calls = 0;
    (db as unknown as { batch: unknown }).batch = async (ops: unknown, o: unknown) => {
      calls++;
      return realBatch(ops, o);
    };
    const unfanned = new Set([1, 2]);
    const nextSeq = 3;
    const marks: number[] = [];
    const c = new GroupCommitter(db, true, { onWriteError: () => {}, onRecovered: () => {} });
    c.useWatermark(
      {
        lowest: (held) => Math.min(held, nextSeq, ...unfanned),
        op: (w) => ({ type: 'put', key: 'fanned', value: Buffer.from(String(w)), sublevel: meta }),
        written: (w) => marks.push(w),
      },
      0,
    );
    const fanOut = (seq: number): Promise<void> => {
      unfanned.delete(seq);
      c.hold({
        seq,
        release: (out) => out.push({ type: 'put', key: `${queue.prefix}sub!${seq}`, value: Buffer.from([seq]) }),
        failed: () => {},
      });
      c.releaseHeld(seq);
      return c.commit([]);
    };

    await fanOut(1);
    await fanOut(2);
    // written one at a time, each batch's watermark covers its own fan-outs (one atomic batch)
    expect(marks.at(-1)).toBe(3);
    const before = calls;
    await c.drain();
    expect(Buffer.from((await meta.get('fanned'))!).toString()).toBe('3');
    expect(calls).toBe(before); // nothing left to cover: drain() writes no batch
  });
});
