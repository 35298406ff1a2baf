// Seeded PRNG for reproducible fuzzing: the seed is printed, FUZZ_SEED=<n> replays a run.
export interface Rng {
  seed: number;
  next(): number;
  int(n: number): number;
  pick<T>(a: readonly T[]): T;
  bytes(n: number): Buffer;
  chance(p: number): boolean;
}

export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32: small, fast, good enough for input generation. */
export function rng(seed: number): Rng {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    pick: (a) => a[int(a.length)]!,
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
    chance: (p) => next() < p,
  };
}
