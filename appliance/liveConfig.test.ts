import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema/index.js';
import type { ApplyPlan } from '../config/versionTypes.js';
import { fixedConfig, switchableConfig } from './liveConfig.js';

const first = configSchema.parse({ municipalities: ['242012'] });
const second = configSchema.parse({ municipalities: ['242012'], limits: { minFreeDiskBytes: 7 } });
const plan: ApplyPlan = { changed: ['limits'], live: ['limits'], restartListeners: [], restartRequired: [] };

describe('live configuration', () => {
  it('runs the followers in order before the switch and gathers whom they disconnected', async () => {
    const live = switchableConfig(first);
    const seen: string[] = [];
    live.follow(async (next) => {
      seen.push(`a sees ${live.current() === first ? 'old' : 'new'}, gets ${next === second ? 'new' : 'old'}`);
      return { disconnected: ['rr-01'] };
    });
    live.follow(async () => {
      seen.push('b');
      return { disconnected: ['term-01'] };
    });
    expect(await live.apply(second, plan)).toEqual({ disconnected: ['rr-01', 'term-01'] });
    expect(seen).toEqual(['a sees old, gets new', 'b']);
    expect(live.current()).toBe(second);
  });

  it('a follower that refuses leaves the running configuration as it was', async () => {
    const live = switchableConfig(first);
    live.follow(async () => {
      throw new Error('listener port in use');
    });
    await expect(live.apply(second, plan)).rejects.toThrow('listener port in use');
    expect(live.current()).toBe(first);
  });

  it('a fixed configuration (no configuration versions) stays the one given', () => {
    const live = fixedConfig(first);
    live.follow(async () => ({ disconnected: [] }));
    expect(live.current()).toBe(first);
  });
});
