// juki-gw provision export: argument combinations that would silently export the wrong thing are refused.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jukiGw } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('juki-gw provision export: argument errors', () => {
  const dir = tempDir('jukigw-prov-args-');
  afterAll(() => dir.cleanup());

  it('refuses an empty period and both --data-dir and --config, writing nothing', async () => {
    const out = join(dir.path, 'x.jsonl');
    const empty = await jukiGw(['provision', 'export', '--data-dir', dir.path, '--out', out, '--from', '2025-02-01', '--to', '2025-01-01']);
    expect(empty).toMatchObject({ code: 2, stderr: 'export: --from 2025-02-01 is not before --to 2025-01-01\n' });
    const both = await jukiGw(['provision', 'export', '--data-dir', dir.path, '--config', join(dir.path, 'c.yaml'), '--out', out]);
    expect(both).toMatchObject({ code: 2, stderr: 'export: give --data-dir D or --config FILE, not both\n' });
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
