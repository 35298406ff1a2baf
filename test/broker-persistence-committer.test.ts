// The group committer writes two batches at once; a failed batch fails every batch started before
// its failure was handled (even one LevelDB wrote), so nothing is acknowledged or applied out of
// order. A real LevelDB, with one write made to fail.
import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { GroupCommitter, type Sublevel } from '../broker/persistence/committer.js';
import type { Db } from '../gateway/store/db.js';
import { tempDir } from './helpers/tmp.js';

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
  return db as unknown as Db;
}

describe('group committer: overlapping batches', () => {
  it('fails the batch written after a failed one, applies nothing of either, and recovers', async () => {
    const db = await openDb();
    const sub = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('t', { keyEncoding: 'utf8', valueEncoding: 'view' });
    // the first write fails after the second one was started (and written)
    const realBatch = db.batch.bind(db) as (ops: unknown, o: unknown) => Promise<void>;
    let calls = 0;
    let started2: () => void = () => {};
    const secondStarted = new Promise<void>((r) => { started2 = r; });
    (db as unknown as { batch: unknown }).batch = async (ops: unknown, o: unknown) => {
      const n = ++calls;
      if (n === 1) {
        await secondStarted;
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('injected write failure');
      }
      if (n === 2) started2();
      return realBatch(ops, o);
    };
    const events: string[] = [];
    const c = new GroupCommitter(db, true, { onWriteError: (e) => events.push(`error: ${e.message}`), onRecovered: () => events.push('recovered') });
    const applied: string[] = [];
    const put = (k: string) => c.commit([{ type: 'put', key: k, value: Buffer.from(k), sublevel: sub }], () => applied.push(k));

    const a = put('a');
    await new Promise((r) => setImmediate(r)); // batch 1 starts
    const b = put('b'); // batch 2 starts while batch 1 is being written
    const results = await Promise.allSettled([a, b]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('injected write failure');
    expect(applied).toEqual([]);
    expect(calls).toBe(2);

    await put('c');
    expect(applied).toEqual(['c']);
    expect(events).toEqual(['error: injected write failure', 'recovered']);
    // batch 2 reached the disk although it was reported failed: a retry finds it, never a loss
    expect(Buffer.from((await sub.get('b'))!).toString()).toBe('b');
  });

  it('completes overlapping batches in the order they were queued', async () => {
    const db = await openDb();
    const sub = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('t', { keyEncoding: 'utf8', valueEncoding: 'view' });
    const c = new GroupCommitter(db, true, { onWriteError: () => {}, onRecovered: () => {} });
    const order: number[] = [];
    const all: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      all.push(c.commit([{ type: 'put', key: String(i).padStart(3, '0'), value: Buffer.from([i]), sublevel: sub }], undefined).then(() => { order.push(i); }));
      if (i % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toEqual([...Array(50).keys()]);
    expect(c.stats.overlapped).toBeGreaterThan(0);
  });
});

describe('group committer: the fan-out watermark at a clean stop', () => {
  // A batch written beside another keeps its watermark below that one's fan-outs (if that one
  // failed, this one must not cover them). Once both are written, only a later batch can record the
  // watermark over both: a stop right then left them to be replayed at the next start.
  it('records the watermark over fan-outs whose batches overlapped before drain() resolves', async () => {
    const db = await openDb();
    const meta = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('m', { keyEncoding: 'utf8', valueEncoding: 'view' });
    const queue = (db as unknown as { sublevel(n: string, o: object): Sublevel }).sublevel('q', { keyEncoding: 'utf8', valueEncoding: 'view' });
    // the first batch (fan-out of seq 1) is held in LevelDB until the second one has started
    const realBatch = db.batch.bind(db) as (ops: unknown, o: unknown) => Promise<void>;
    let calls = 0;
    let startSecond: () => void = () => {};
    const secondStarted = new Promise<void>((r) => { startSecond = r; });
    (db as unknown as { batch: unknown }).batch = async (ops: unknown, o: unknown) => {
      const n = ++calls;
      if (n === 1) await secondStarted;
      if (n === 2) startSecond();
      return realBatch(ops, o);
    };
    const unfanned = new Set([1, 2]);
    const nextSeq = 3;
    const marks: number[] = [];
    const c = new GroupCommitter(db, true, { onWriteError: () => {}, onRecovered: () => {} });
    c.useWatermark({
      lowest: (held) => Math.min(held, nextSeq, ...unfanned),
      op: (w) => ({ type: 'put', key: 'fanned', value: Buffer.from(String(w)), sublevel: meta }),
      written: (w) => marks.push(w),
    }, 0);
    const fanOut = (seq: number): Promise<void> => {
      unfanned.delete(seq);
      c.hold({ seq, release: (out) => out.push({ type: 'put', key: `${queue.prefix}sub!${seq}`, value: Buffer.from([seq]) }), failed: () => {} });
      c.releaseHeld(seq);
      return c.commit([]);
    };

    const first = fanOut(1); // its batch records W = 2: seq 2 is not fanned out yet
    await new Promise((r) => setImmediate(r));
    const second = fanOut(2); // written beside the first: records no W of its own
    await Promise.all([first, second]);
    expect(calls).toBe(2);
    expect(marks).toEqual([2]);

    await c.drain();
    expect(marks).toEqual([2, 3]);
    expect(Buffer.from((await meta.get('fanned'))!).toString()).toBe('3');
    // nothing left to write: a second drain writes no batch
    await c.drain();
    expect(calls).toBe(3);
  });
});
