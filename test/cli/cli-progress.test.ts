// The CLI's progress output: a redrawn bar on a terminal, plain lines every 5 % elsewhere.
import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../cli/progress.js';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    s: {
      isTTY,
      write: (c: string) => {
        chunks.push(c);
        return true;
      },
    } as unknown as NodeJS.WriteStream,
    chunks,
  };
}

describe('progressPrinter', () => {
  it('redraws one bar on a terminal and ends it with a newline', () => {
    const { s, chunks } = stream(true);
    const bar = progressPrinter('backup', s);
    for (let done = 0; done <= 200; done += 50) bar({ done, total: 200, detail: `${done} bytes` });
    bar.end();
    expect(chunks.slice(0, -1).every((c) => c.startsWith('\rbackup [') && c.endsWith('\x1b[K'))).toBe(true);
    expect(chunks[2]).toBe(`\rbackup [${'#'.repeat(15)}${'.'.repeat(15)}]  50.0% 100 bytes\x1b[K`);
    expect(chunks.at(-1)).toBe('\n');
  });

  it('writes a plain line per 5 % step when not on a terminal', () => {
    const { s, chunks } = stream(false);
    const bar = progressPrinter('import', s);
    for (let done = 0; done <= 1000; done += 7) bar({ done, total: 1000 });
    bar({ done: 1000, total: 1000 });
    bar.end();
    // One line per 5 % step reached (the first value past each step), the last at 100 %.
    const pcts = chunks.map((c) => Number(/^import (\d+)%\n$/.exec(c)![1]));
    expect(pcts.map((p) => Math.floor(p / 5))).toEqual(Array.from({ length: 21 }, (_, i) => i));
    expect(pcts.at(-1)).toBe(100);
  });
});
