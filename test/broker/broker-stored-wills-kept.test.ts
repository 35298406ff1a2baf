// A stored will (left by a connection of the earlier run) that cannot be published at start for a
// passing reason — disk, a full queue, a failed store write — stays stored for the next start; one
// published or refused by policy is deleted. Real LevelDB persistence.
import { afterEach, expect, it } from 'vitest';
import { createLevelPersistence } from '../../broker/persistence/index.js';
import { publishStoredWills, type StoredWill } from '../../broker/stored-wills.js';
import type { BrokerIdentity } from '../../broker/acl.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const will = (clientId: string) => ({
  cmd: 'publish',
  topic: 'req/identity.update',
  payload: Buffer.from(clientId),
  qos: 1,
  retain: false,
});

it('keeps a will held back for a passing reason, deletes the published and the refused ones', async () => {
  const d = tempDir('jukigw-wills-');
  cleanups.push(d.cleanup);
  const p = createLevelPersistence({ path: d.path });
  await p.open();
  cleanups.push(() => p.destroy());
  for (const id of ['published-1', 'refused-1', 'disk-full-1']) await p.putWill({ id }, will(id));

  const stored: StoredWill[] = [];
  for await (const w of p.streamWill({})) stored.push(w as StoredWill);
  expect(stored.map((w) => w.clientId).sort()).toEqual(['disk-full-1', 'published-1', 'refused-1']);

  const identity = { systemId: 'rr-01', role: 'resident-register' } as BrokerIdentity;
  const refused: string[] = [];
  const r = await publishStoredWills(p, stored, {
    check: (_registrant, w) => (w.clientId === 'refused-1' ? { ok: false, reason: 'role may not publish it' } : { ok: true, identity }),
    refuse: (w) => {
      refused.push(w.clientId);
    },
    publish: async (w) => (w.clientId === 'disk-full-1' ? 'retry' : 'published'),
  });
  expect(r).toEqual({ published: 1, kept: 1 });
  expect(refused).toEqual(['refused-1']);

  const left: string[] = [];
  for await (const w of p.streamWill({})) left.push((w as StoredWill).clientId);
  expect(left).toEqual(['disk-full-1']);
});
