// The brokers compared by bench:broker, each started as its own process on a loopback port.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, waitForPort, type Child } from './procs.js';

export type BrokerKind = 'ours' | 'ours-nosync' | 'memory' | 'level' | 'mosquitto';

export const BROKER_LABELS: Record<BrokerKind, string> = {
  ours: 'ours (LevelDB, durable ingress)',
  'ours-nosync': 'ours, syncWrites false (process-crash safety only)',
  memory: 'aedes, in-memory',
  level: 'aedes + aedes-persistence-level',
  mosquitto: 'Mosquitto (persistence true)',
};

const AEDES_BROKER = fileURLToPath(new URL('./aedes-broker.ts', import.meta.url));
export const MOSQUITTO = '/usr/sbin/mosquitto';

/** `extra`: more aedes-broker.ts flags (e.g. --seal). */
export async function startBroker(kind: BrokerKind, port: number, dir: string, extra: string[] = []): Promise<Child> {
  if (kind === 'mosquitto') {
    const conf = join(dir, 'mosquitto.conf');
    // Unlimited in-flight and queue: the defaults (20 / 1000) would drop messages for a
    // clean:false subscriber under this load, which is not what we measure.
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        'max_inflight_messages 0',
        'max_queued_messages 0',
        'log_dest stderr',
        'log_type error',
        '',
      ].join('\n'),
    );
    const child = start(MOSQUITTO, ['-c', conf]);
    await waitForPort(port, 10_000);
    return child;
  }
  const flags = kind === 'ours-nosync' ? ['--kind', 'ours', '--no-sync'] : ['--kind', kind];
  const child = start(process.execPath, [
    '--import',
    'tsx',
    AEDES_BROKER,
    ...flags,
    '--port',
    String(port),
    '--dir',
    join(dir, 'db'),
    ...extra,
  ]);
  await child.line(/^READY/, 30_000);
  return child;
}
