// One aedes broker process for the benchmark:
//   node --import tsx bench/lib/aedes-broker.ts --kind ours|memory|level --port P --dir D [--no-sync] [--seal]
// (ours syncs as the configuration's default broker.syncWrites does; --no-sync: without fsync per
// group commit, process-crash safety only; for comparison)
// (--seal: ours with every stored value sealed, AES-256-GCM as the appliance's keyring does it)
// Prints "READY" when listening; reports its CPU time on SIGTERM as "CPU <ms>".
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { Aedes } from 'aedes';
import { ClassicLevel } from 'classic-level';
import { randomBytes } from 'node:crypto';
import { createLevelPersistence, wireDurableIngress } from '../../broker/persistence/index.js';
import { brokerSection } from '../../config/schema/broker.js';
import { sealWith, unsealWith } from '../../gateway/crypto/sealed.js';
import { flag, intFlag } from './args.js';

const argv = process.argv.slice(2);
const kind = flag(argv, 'kind');
const port = intFlag(argv, 'port', 0);
const dir = flag(argv, 'dir');
const require = createRequire(import.meta.url);

async function main(): Promise<void> {
  if (!port || !dir) throw new Error('--port and --dir are required');
  let aedes: Aedes;
  let close = async () => {};
  let stats: () => object = () => ({});
  if (kind === 'ours') {
    const key = randomBytes(32);
    const sealer = { seal: (p: Uint8Array) => sealWith(1, key, p), unseal: (v: Uint8Array) => unsealWith(() => key, v) };
    const persistence = createLevelPersistence({
      path: dir,
      sync: !argv.includes('--no-sync') && brokerSection.parse({}).syncWrites,
      ...(argv.includes('--seal') ? { sealer } : {}),
    });
    aedes = await Aedes.createBroker({ persistence: persistence as never });
    wireDurableIngress(aedes, persistence);
    await persistence.replayIngress(aedes);
    close = () => persistence.destroy();
    stats = () => persistence.writeStats();
  } else if (kind === 'memory') {
    aedes = await Aedes.createBroker();
  } else if (kind === 'level') {
    const aedesPersistenceLevel = require('aedes-persistence-level') as (db: unknown) => unknown;
    const db = new ClassicLevel(dir);
    aedes = await Aedes.createBroker({ persistence: aedesPersistenceLevel(db) as never });
    close = () => db.close();
  } else {
    throw new Error(`--kind must be ours, memory or level, got "${kind}"`);
  }
  const server = createServer(aedes.handle);
  server.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));
  process.once('SIGTERM', () => {
    const cpu = process.cpuUsage();
    process.stdout.write(`CPU ${(cpu.user + cpu.system) / 1000}\n`);
    process.stdout.write(`STATS ${JSON.stringify(stats())}\n`);
    server.close();
    aedes.close(() => {
      void close().finally(() => process.exit(0));
    });
  });
}

main().catch((err: Error) => {
  process.stderr.write(`aedes-broker: ${err.message}\n`);
  process.exit(1);
});
