/** `--name value` flags; a precise error for a malformed number. */
export function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export function intFlag(argv: string[], name: string, fallback: number): number {
  const raw = flag(argv, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** Wall-clock ms since the epoch with sub-ms resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
