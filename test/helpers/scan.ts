import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file below `dir`. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every 11- and 12-digit window of every ASCII digit run (住民票コード and 個人番号 candidates). */
export function digitWindows(data: Buffer): Set<string> {
  const out = new Set<string>();
  for (const m of data.toString('latin1').matchAll(/[0-9]{11,}/g)) {
    for (const len of [11, 12]) for (let i = 0; i + len <= m[0].length; i++) out.add(m[0].slice(i, i + len));
  }
  return out;
}
