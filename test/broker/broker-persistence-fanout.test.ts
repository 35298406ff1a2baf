// Held fan-outs (the committer's hold()): a subscriber queue entry is written only when it is still
// unacknowledged at release; what is acknowledged or cleaned first never reaches the disk, and a
// restart finds exactly the entries still owed. Driven through the persistence API as aedes calls it.
import { afterEach, describe, expect, it } from 'vitest';
import { SUBLEVELS, openApplianceDb } from '../../platform/store/db.js';
import { createLevelPersistence, type LevelPersistence } from '../../broker/persistence/index.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmp(): string {
  const d = tempDir('jukigw-bpf-');
  cleanups.push(d.cleanup);
  return d.path;
}

async function open(dir: string): Promise<LevelPersistence> {
  const p = createLevelPersistence({ path: dir });
  await p.open();
  cleanups.push(() => p.destroy());
  return p;
}

async function queueKeys(dir: string): Promise<string[]> {
  const db = await openApplianceDb(dir);
  try {
    const keys: string[] = [];
    for await (const k of db
      .sublevel<string, Uint8Array>(SUBLEVELS.broker, { keyEncoding: 'utf8', valueEncoding: 'view' })
      .keys({ gt: 'o!', lt: 'o"' }))
      keys.push(k);
    return keys;
  } finally {
    await db.close();
  }
}

const publisher = { id: 'pub' };
let counter = 0;

/** What aedes does for one client publish: store (before PUBACK), then fan out and deliver. */
async function publishTo(p: LevelPersistence, subscribers: string[], messageId: number): Promise<void> {
  const payload = Buffer.from(`m${messageId}`);
  await p.storeIngress(publisher, { cmd: 'publish', topic: 't/x', payload, qos: 1, retain: false, messageId });
  const packet = { cmd: 'publish', topic: 't/x', payload, qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: ++counter };
  await p.outgoingEnqueueCombi(
    subscribers.map((clientId) => ({ clientId })),
    packet,
  );
  for (const clientId of subscribers) await p.outgoingUpdate({ id: clientId }, { ...packet, messageId });
}

describe('held fan-outs', () => {
  it('write only the queue entries still unacknowledged when released, and keep them across a restart', async () => {
    const dir = tmp();
    const p = await open(dir);
    await publishTo(p, ['a', 'b'], 1);
    await publishTo(p, ['a', 'b'], 2);
    // 'a' acknowledges both at once (still held), 'b' only the first
    expect(await p.outgoingClearMessageId({ id: 'a' }, { messageId: 1 })).toMatchObject({ messageId: 1, topic: 't/x' });
    expect(await p.outgoingClearMessageId({ id: 'a' }, { messageId: 2 })).toMatchObject({ messageId: 2 });
    expect(await p.outgoingClearMessageId({ id: 'b' }, { messageId: 1 })).toMatchObject({ messageId: 1 });
    await p.destroy();
    const keys = await queueKeys(dir);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^o!b!/);

    const again = await open(dir);
    expect(again.outgoingDepths()).toEqual(new Map([['b', 1]]));
    expect(again.ingressDepth()).toBe(0); // fanned out: not replayed
  });

  it('delete a written entry when it is acknowledged after its release', async () => {
    const dir = tmp();
    const p = await open(dir);
    await publishTo(p, ['a'], 1);
    expect(await p.outgoingStream({ id: 'a' }).toArray()).toHaveLength(1); // flushes: the held entry is written
    await p.outgoingClearMessageId({ id: 'a' }, { messageId: 1 });
    await p.destroy();
    expect(await queueKeys(dir)).toEqual([]);
  });

  it('never outlive a session cleaned while they are held', async () => {
    const dir = tmp();
    const p = await open(dir);
    await p.addSubscriptions({ id: 'a' }, [{ topic: 't/#', qos: 1 }]);
    await publishTo(p, ['a'], 1);
    await publishTo(p, ['a'], 2);
    await p.cleanSubscriptions({ id: 'a' });
    await p.destroy();
    expect(await queueKeys(dir)).toEqual([]);
    const again = await open(dir);
    expect(again.outgoingDepths().size).toBe(0);
  });

  it('go to disk before a QoS 2 PUBREL that replaces their entry', async () => {
    const dir = tmp();
    const p = await open(dir);
    await publishTo(p, ['a'], 7);
    await p.outgoingUpdate({ id: 'a' }, { cmd: 'pubrel', messageId: 7 });
    await p.destroy();
    const again = await open(dir);
    expect(await again.outgoingStream({ id: 'a' }).toArray()).toEqual([{ cmd: 'pubrel', messageId: 7 }]);
  });
});
