import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lifecycle, needs } from './lifecycle.js';

describe('lifecycle', () => {
  it('starts only the components selected, stops them last first, and a failing stop neither hides nor blocks the rest', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'error' },
      {
        write: (line: string) => {
          lines.push(line);
        },
      },
    );
    const stopped: string[] = [];
    const run = lifecycle(['hsm', 'broker', 'admin'], logger);
    const part =
      (name: string, fail = false) =>
      async () => ({
        name,
        stop: async () => {
          stopped.push(name);
          if (fail) throw new Error(`${name} would not close`);
        },
      });
    expect(await run.start('hsm', part('hsm'))).toMatchObject({ name: 'hsm' });
    expect(await run.start('crypto', part('crypto'))).toBeUndefined();
    await run.start('broker', part('broker', true));
    await run.start('admin', part('admin'));
    expect([run.runs('broker'), run.runs('ui')]).toEqual([true, false]);
    await run.stopAll();
    expect(stopped).toEqual(['admin', 'broker', 'hsm']);
    expect(lines.join('')).toMatch(/"component":"broker","err":"broker would not close","msg":"component failed to stop cleanly"/);
    // A second call finds nothing left to stop.
    await run.stopAll();
    expect(stopped).toHaveLength(3);
  });

  it('needs(): a dependency left out refuses the start, naming the component and what it needs', () => {
    expect(needs('roles', 'broker', 1)).toBe(1);
    expect(() => needs('roles', 'broker', undefined)).toThrow("appliance component 'roles' needs 'broker', which this start leaves out");
  });
});
