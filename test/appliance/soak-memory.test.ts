// The soak's memory figures: the child's sample line round-trips, and the steady-part slope ignores
// the warm-up third of a life (a process that grows while warming up, then stays flat, has no slope).
import { describe, expect, it } from 'vitest';
import {
  anonSplit,
  envelopeSlope,
  memLine,
  minuteEnvelope,
  parseMemLine,
  slope,
  steadySummary,
  type MemSample,
} from '../../bench/lib/soakMemory.js';

describe('soak memory figures', () => {
  it('reads back the sample line the child writes (MB), with RSS split into anon and file on Linux', () => {
    const s = parseMemLine(
      memLine(
        { rss: 200 * 1048576, heapUsed: 40 * 1048576, heapTotal: 50 * 1048576, external: 3 * 1048576, arrayBuffers: 1048576 },
        12 * 1048576,
      ),
      2.5,
    )!;
    expect(s).toMatchObject({ min: 2.5, rss: 200, heapUsed: 40, heapTotal: 50, external: 3, arrayBuffers: 1, leveldb: 12 });
    expect(s.otherNative).toBeCloseTo(s.rssAnon - 50 - 3 - 12, 6);
    expect(s.rssAnon + s.rssFile).toBeGreaterThan(0);
    expect(parseMemLine('depth 3', 1)).toBeUndefined();
  });

  it('reports the slope of the last 2/3 of a life, not the warm-up', () => {
    const samples: MemSample[] = [];
    for (let i = 0; i <= 90; i++) {
      const min = i / 10;
      const warm = Math.min(min, 2) * 20; // +40 MB in the first 2 minutes, flat after
      const v = 150 + warm;
      samples.push({
        min,
        rss: v,
        rssAnon: v - 40,
        rssFile: 40,
        heapUsed: 30 + (i % 2),
        heapTotal: 40,
        external: 3,
        arrayBuffers: 1,
        leveldb: 8,
        otherNative: v - 91,
      });
    }
    expect(slope(samples.map((x) => [x.min, x.rss]))).toBeGreaterThan(2);
    const steady = steadySummary(samples)!;
    expect(steady.fromMin).toBe(3);
    expect(steady.slopeMbPerMin.rss).toBe(0);
    expect(Math.abs(steady.slopeMbPerMin.heapUsed)).toBeLessThan(0.05);
    expect(steady.firstMb.rss).toBe(190);
  });

  it('takes the per-minute highs of a GC sawtooth: flat highs give no slope where a window over the trough gives one', () => {
    const samples: MemSample[] = [];
    for (let i = 0; i < 150; i++) {
      const min = 10 + i / 30; // a life of 5 minutes started at minute 10, one sample every 2 s
      const inLife = i / 30;
      // the heap grows for 1.6 minutes, one major GC drops RSS to 150 MB, it climbs back to 190 MB and stays there
      const rss = inLife < 1.6 ? 160 + inLife * 25 : Math.min(190, 150 + (inLife - 1.6) * 40);
      samples.push({
        min,
        rss,
        rssAnon: rss - 50,
        rssFile: 50,
        heapUsed: 40,
        heapTotal: 70,
        external: 4,
        arrayBuffers: 1,
        leveldb: 4,
        otherNative: 0,
      });
    }
    const env = minuteEnvelope(samples, 10);
    expect(env.map((e) => e.minute)).toEqual([0, 1, 2, 3, 4]);
    expect(env[1]!.maxMb).toBeCloseTo(199.2, 1);
    expect(env[1]!.minMb).toBe(150);
    expect(env.slice(2).map((e) => e.maxMb)).toEqual([190, 190, 190]);
    expect(envelopeSlope(env)).toBe(0);
    expect(steadySummary(samples)!.slopeMbPerMin.rss).toBeGreaterThan(1);
  });

  it('splits anonymous RSS into glibc main arena, thread arenas (64 MiB reservations) and the rest', () => {
    const map = (start: number, end: number, perms: string, rssKb: number, name = '', inode = 0) =>
      `${start.toString(16)}-${end.toString(16)} ${perms} 00000000 00:00 ${inode}  ${name}\nSize: ${(end - start) / 1024} kB\nRss: ${rssKb} kB\n`;
    const A = 0x7f0000000000,
      MiB = 1 << 20;
    const smaps =
      map(0x400000, 0xb6f000, 'r--p', 5000, '/usr/bin/node', 260689) +
      map(0x3000000, 0x3a00000, 'rw-p', 8192, '[heap]') +
      map(A, A + 20 * MiB, 'rw-p', 12 * 1024) +
      map(A + 20 * MiB, A + 64 * MiB, '---p', 0) + // a thread arena, 12 MiB resident
      map(A + 64 * MiB, A + 128 * MiB, 'rw-p', 3 * 1024) + // a fully grown arena
      map(A + 200 * MiB, A + 201 * MiB, 'rw-p', 1024); // V8 page
    expect(anonSplit(smaps)).toEqual({ mainArenaMb: 8, threadArenasMb: 15, threadArenas: 2, otherAnonMb: 1 });
  });
});
