// The embedded default (simulated upstreams): a consistency check of the served municipality runs to
// the end against the simulated prefecture, which compares with the appliance's own store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiAppliance, type UiAppliance } from '../admin-ui/ui-appliance.js';

describe('consistency check with the embedded default', () => {
  let a: UiAppliance;
  beforeAll(async () => {
    a = await startUiAppliance();
  }, 120_000);
  afterAll(async () => {
    await a?.close();
  });

  it('the simulated prefecture answers consistency.check, so a run finishes with no difference', async () => {
    const cs = a.app.parts.cs!;
    const s = await cs.consistency.run({ lgCode: '242012' });
    expect(s.done).toBe(true);
    expect(s.peer).toBe('pref:240001');
    expect(s.differences).toBe(0);
    expect(s.requests).toBeGreaterThan(1);
  }, 120_000);
});
