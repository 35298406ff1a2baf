// A second `juki-gw start` on a data dir the first one holds: the refusal names the cause (LevelDB
// alone says only "Database failed to open").
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFailure } from '../../cli/commands/start.js';
import { tempDir } from '../helpers/tmp.js';

describe('start on a data dir another appliance holds', () => {
  const tmp = tempDir('jukigw-locked-');
  afterAll(() => tmp.cleanup());

  it('says the data dir is in use, not only that the database failed to open', async () => {
    const first = new ClassicLevel(join(tmp.path, 'db'));
    await first.open();
    const second = new ClassicLevel(join(tmp.path, 'db'));
    const err = await second.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    await first.close();
    expect((err as Error).message).toBe('Database failed to open');
    expect(startFailure(err, tmp.path)).toBe(
      `the data directory ${tmp.path} is in use by another running appliance (its database is locked); stop it first, or give this one another dataDir`,
    );
    expect(startFailure(new Error('disk on fire'), tmp.path)).toBe('disk on fire');
  });
});
