// A real full disk: the LevelDB lives on a small tmpfs (we run as root). New publishes are refused
// (no PUBACK), an alarm is raised, and after space is freed and the broker restarts every acked
// message is there, once, in order.
import { execFileSync } from 'node:child_process';
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { PersistenceAlarm } from '../../broker/persistence/index.js';
import { tempDir } from '../helpers/tmp.js';
import { audit, connect, end, publishIndexed, recorder, startBroker, type TestBroker } from './broker-persistence.helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function mountTmpfs(dir: string, size: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`this test needs root to mount a ${size} tmpfs at ${dir}: ${(e as Error).message}`);
  }
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir]);
  });
}

it('refuses publishes on a full disk, raises an alarm, and loses nothing that was acked', async () => {
  const tmp = tempDir('jukigw-full-');
  cleanups.push(tmp.cleanup);
  mountTmpfs(tmp.path, '16m');
  // room to free later: LevelDB needs space to reopen (new log, level-0 table of the recovered log)
  const filler = join(tmp.path, 'filler');
  writeFileSync(filler, Buffer.alloc(10 * 1024 * 1024, 1));
  const dbDir = join(tmp.path, 'db');
  mkdirSync(dbDir);

  const alarms: PersistenceAlarm[] = [];
  let broker: TestBroker = await startBroker({ path: dbDir, onAlarm: (a) => alarms.push(a) });
  cleanups.push(() => broker.close().catch(() => undefined));
  const sub = await connect(broker.url, { clientId: 'disk-sub', clean: false });
  await sub.subscribeAsync('disk/#', { qos: 1 });
  await end(sub);

  const MAX = 1000; // 32 MB of payload: far beyond the ~6 MB left on the disk
  const pub = await connect(broker.url, { clientId: 'disk-pub' });
  const acked = await publishIndexed(pub, 'disk/t', 0, MAX, { window: 16, size: 32 * 1024 });
  await end(pub, true);
  expect(acked.length).toBeGreaterThan(0);
  expect(acked.length).toBeLessThan(MAX); // refused: the broker closed the connection without PUBACK
  expect(alarms[0]?.kind).toBe('write-failed');
  expect(alarms[0]?.message).toMatch(/space|IO error/i);

  // the operator frees space and restarts the service
  unlinkSync(filler);
  await broker.close().catch(() => undefined); // closing a DB in error state may itself report the error
  broker = await startBroker({ path: dbDir });
  const rec = recorder();
  const again = await connect(broker.url, { clientId: 'disk-sub', clean: false }, rec);
  cleanups.push(() => end(again, true));
  await rec.until(() => false, 1500, 60_000);
  console.log(
    `full disk: ${acked.length} acked, refused at #${acked.length}, alarm "${alarms[0]?.message}", ${rec.got.length} delivered after restart`,
  );
  expect(audit(rec.got, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  expect(Math.max(...rec.got)).toBeLessThan(MAX);

  // and the broker takes publishes again
  const pub2 = await connect(broker.url, { clientId: 'disk-pub' });
  cleanups.push(() => end(pub2, true));
  expect((await publishIndexed(pub2, 'disk/t', MAX, MAX + 5)).length).toBe(5);
}, 120_000);
