// Memory figures of the soak: the appliance child reports process.memoryUsage() every sample, so a
// growing RSS can be told apart: JS heap (our Maps and arrays), external / arrayBuffers (Buffers held
// by JS), or native memory outside V8 (LevelDB memtables and block cache, allocator fragmentation).
// RSS itself is split as Linux counts it: rssAnon (malloc and V8 heaps) and rssFile (mapped files:
// the node binary, and LevelDB's table files, which it reads through mmap; the kernel can drop these
// pages at any time, they grow with the data read, not with a leak).
import { readFileSync } from 'node:fs';

export interface MemSample {
  min: number;
  rss: number;
  rssAnon: number;
  rssFile: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** LevelDB's own estimate: memtables + block cache (leveldb.approximate-memory-usage). */
  leveldb: number;
  /** Anonymous memory that is neither the V8 heap, nor Buffers, nor LevelDB's: allocator, native modules, threads. */
  otherNative: number;
}

const MB = 1024 * 1024;

function procStatusKb(field: string, status: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** The child's stdout line for one sample (bytes, as process.memoryUsage() and /proc give them). */
export function memLine(u: NodeJS.MemoryUsage = process.memoryUsage(), leveldbBytes = 0): string {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    /* not Linux: anon/file stay 0 */
  }
  return `mem ${u.rss} ${procStatusKb('RssAnon', status)} ${procStatusKb('RssFile', status)} ${u.heapUsed} ${u.heapTotal} ${u.external} ${u.arrayBuffers} ${leveldbBytes}\n`;
}

/** Parses a `mem` line into MB at minute `min`; undefined for any other line. */
export function parseMemLine(line: string, min: number): MemSample | undefined {
  const m = /^mem (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/.exec(line.trim());
  if (!m) return undefined;
  const [rss, rssAnon, rssFile, heapUsed, heapTotal, external, arrayBuffers, leveldb] = m.slice(1).map((v) => Number(v) / MB) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    min,
    rss,
    rssAnon,
    rssFile,
    heapUsed,
    heapTotal,
    external,
    arrayBuffers,
    leveldb,
    otherNative: rssAnon - heapTotal - external - leveldb,
  };
}

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

export type MemField = Exclude<keyof MemSample, 'min'>;
export const MEM_FIELDS: MemField[] = [
  'rss',
  'rssAnon',
  'rssFile',
  'heapUsed',
  'heapTotal',
  'external',
  'arrayBuffers',
  'leveldb',
  'otherNative',
];

export interface MemSummary {
  samples: number;
  fromMin: number;
  toMin: number;
  slopeMbPerMin: Record<MemField, number>;
  firstMb: Record<MemField, number>;
  lastMb: Record<MemField, number>;
}

/**
 * Slopes over the steady part of one process life: its last `fraction` (warm-up, JIT, caches filling
 * and the first compactions fall in the first third). first/last are means of the 5 samples at each
 * end, so one GC swing does not decide them.
 */
export function steadySummary(samples: MemSample[], fraction = 2 / 3): MemSummary | undefined {
  if (samples.length < 10) return undefined;
  const start = samples[0]!.min;
  const end = samples.at(-1)!.min;
  const steady = samples.filter((s) => s.min >= end - (end - start) * fraction);
  if (steady.length < 10) return undefined;
  const round = (v: number) => Number(v.toFixed(3));
  const per = (f: (field: MemField) => number) => Object.fromEntries(MEM_FIELDS.map((k) => [k, round(f(k))])) as Record<MemField, number>;
  const mean = (xs: MemSample[], k: MemField) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
  return {
    samples: steady.length,
    fromMin: round(steady[0]!.min),
    toMin: round(steady.at(-1)!.min),
    slopeMbPerMin: per((k) => slope(steady.map((s) => [s.min, s[k]]))),
    firstMb: per((k) => mean(steady.slice(0, 5), k)),
    lastMb: per((k) => mean(steady.slice(-5), k)),
  };
}

export interface MinuteEnvelope {
  minute: number;
  minMb: number;
  maxMb: number;
  samples: number;
}

/**
 * RSS low and high per whole minute of a life. V8 lets its heap grow for a minute or two and then
 * shrinks it in one major GC, so RSS is a sawtooth whose trough can sit inside any short window; the
 * per-minute highs show whether the process still grows once that has settled.
 */
export function minuteEnvelope(samples: MemSample[], startedMin: number, field: MemField = 'rss'): MinuteEnvelope[] {
  const bins = new Map<number, number[]>();
  for (const s of samples) {
    const m = Math.floor(s.min - startedMin);
    let b = bins.get(m);
    if (!b) bins.set(m, (b = []));
    b.push(s[field]);
  }
  return [...bins]
    .sort(([a], [b]) => a - b)
    .map(([minute, v]) => ({
      minute,
      minMb: Number(Math.min(...v).toFixed(1)),
      maxMb: Number(Math.max(...v).toFixed(1)),
      samples: v.length,
    }));
}

/** Slope (MB/min) of the per-minute highs over the whole minutes in the last `fraction` of the life. */
export function envelopeSlope(env: MinuteEnvelope[], fraction = 2 / 3, minSamples = 20): number | undefined {
  const whole = env.filter((e) => e.samples >= minSamples);
  if (whole.length < 2) return undefined;
  const from = whole.at(-1)!.minute - (whole.at(-1)!.minute - whole[0]!.minute + 1) * fraction + 1;
  const steady = whole.filter((e) => e.minute >= from);
  return steady.length < 2 ? undefined : Number(slope(steady.map((e) => [e.minute, e.maxMb])).toFixed(3));
}

export interface AnonSplit {
  mainArenaMb: number;
  threadArenasMb: number;
  threadArenas: number;
  otherAnonMb: number;
}

const ARENA_BYTES = 64 * 1024 * 1024;

/**
 * Anonymous RSS by allocator region, from /proc/self/smaps: glibc's main arena ([heap]), its
 * per-thread arenas (each a 64 MiB-aligned reservation: a read-write part, then PROT_NONE), and the
 * rest (V8's heap pages, large mmapped allocations). Native memory freed on libuv and LevelDB threads
 * stays cached in those thread arenas, which is what grows while the process warms up.
 */
export function anonSplit(smaps = readFileSync('/proc/self/smaps', 'utf8')): AnonSplit {
  const maps: Array<{ start: number; end: number; perms: string; inode: number; name: string; rss: number }> = [];
  for (const line of smaps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) {
      maps.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, inode: Number(m[4]), name: m[5]!.trim(), rss: 0 });
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && maps.length) maps.at(-1)!.rss = Number(r[1]) * 1024;
  }
  const out = { main: 0, arenas: 0, count: 0, other: 0 };
  maps.forEach((m, i) => {
    if (m.name === '[heap]') {
      out.main += m.rss;
      return;
    }
    if (m.inode !== 0 || m.name !== '' || !m.perms.startsWith('rw')) return;
    const next = maps[i + 1];
    const arena =
      m.start % ARENA_BYTES === 0 &&
      (m.end - m.start === ARENA_BYTES ||
        (next !== undefined && next.start === m.end && next.perms.startsWith('---') && next.end - m.start === ARENA_BYTES));
    if (arena) {
      out.arenas += m.rss;
      out.count++;
    } else out.other += m.rss;
  });
  return { mainArenaMb: out.main / MB, threadArenasMb: out.arenas / MB, threadArenas: out.count, otherAnonMb: out.other / MB };
}
