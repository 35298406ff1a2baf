// npm run bench:broker [-- --messages N] [--size B] [--window W] [--rounds R] [--only ours,memory,level,mosquitto,ours-nosync] [--seal]
// (ours-nosync, not in the default set: ours at the opt-out broker.syncWrites false, for the cost of fsync)
// (--seal: ours seals every stored value, as the appliance with encryption at rest does)
// One publisher process, one clean:false subscriber process, one broker process per configuration,
// each configuration in turn in the same run, R rounds interleaved (the machine is shared: the
// median of each configuration is reported). Throughput is end to end: first publish to the last
// message the subscriber received live. Ratios are against ours, measured in this run.
import { flag, intFlag } from './lib/args.js';
import { BROKER_LABELS, type BrokerKind } from './lib/brokers.js';
import { runBroker, type BrokerRow as Row } from './lib/brokerRun.js';

const argv = process.argv.slice(2);
const messages = intFlag(argv, 'messages', 100_000);
const size = intFlag(argv, 'size', 256);
const window = intFlag(argv, 'window', 1000);
const rounds = intFlag(argv, 'rounds', 3);
const seal = argv.includes('--seal');
const labelOf = (k: BrokerKind) => BROKER_LABELS[k] + (k.startsWith('ours') && seal ? ', values sealed' : '');
const ALL: BrokerKind[] = ['ours', 'memory', 'level', 'mosquitto'];
const KNOWN: BrokerKind[] = [...ALL, 'ours-nosync'];
const only = (flag(argv, 'only')?.split(',') ?? ALL) as BrokerKind[];
for (const k of only) if (!KNOWN.includes(k)) throw new Error(`--only: unknown broker "${k}" (known: ${KNOWN.join(', ')})`);

const pct = (x: number) => `${Math.round(x * 100)}%`;

const runs = new Map<BrokerKind, Row[]>(only.map((k) => [k, []]));
console.log(
  `bench:broker: ${messages} QoS 1 messages of ${size} B, 1 publisher (window ${window}), 1 clean:false subscriber, ${rounds} round(s), ${new Date().toISOString()}`,
);
for (let round = 1; round <= rounds; round++) {
  for (const kind of only) {
    process.stdout.write(`  round ${round}: ${labelOf(kind)} ... `);
    const row = await runBroker(kind, { messages, size, window, extraArgs: kind.startsWith('ours') && seal ? ['--seal'] : [] });
    runs.get(kind)!.push(row);
    console.log(
      `${Math.round(row.msgsPerSec)} msgs/s (lost ${row.sub.lost}, reordered ${row.sub.reordered}, duplicated ${row.sub.duplicated}, held back ${row.sub.heldBack})`,
    );
  }
}

/** The median run by throughput; delivery faults are summed over all rounds (any fault counts). */
function summarize(kind: BrokerKind): Row {
  const list = [...runs.get(kind)!].sort((a, b) => a.msgsPerSec - b.msgsPerSec);
  const median = list[Math.floor((list.length - 1) / 2)]!;
  const sum = (f: (r: Row) => number) => list.reduce((n, r) => n + f(r), 0);
  return {
    ...median,
    sub: {
      ...median.sub,
      lost: sum((r) => r.sub.lost),
      reordered: sum((r) => r.sub.reordered),
      duplicated: sum((r) => r.sub.duplicated),
      heldBack: sum((r) => r.sub.heldBack),
    },
  };
}
const rows = only.map(summarize);

const ours = rows.find((r) => r.kind === 'ours');
const header = [
  'broker',
  'msgs/s',
  'vs ours',
  'PUBACK/s',
  'lost',
  'reordered',
  'duplicated',
  'held back',
  'CPU broker',
  'msgs per broker CPU-s',
  'CPU pub',
  'CPU sub',
];
const table = rows.map((r) => [
  labelOf(r.kind),
  String(Math.round(r.msgsPerSec)),
  ours ? `${(r.msgsPerSec / ours.msgsPerSec).toFixed(2)}×` : '-',
  String(Math.round(r.ackPerSec)),
  String(r.sub.lost),
  String(r.sub.reordered),
  String(r.sub.duplicated),
  String(r.sub.heldBack),
  pct(r.brokerCpu),
  String(Math.round((messages - r.sub.lost) / (r.brokerCpuMs / 1000))),
  pct(r.pub.cpuMs / r.wallMs),
  pct(r.sub.cpuMs / r.wallMs),
]);
console.log('');
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const t of table) console.log(`| ${t.join(' | ')} |`);
console.log('');
console.log(
  `msgs/s: median of ${rounds} round(s), end to end (first publish → last message received live); PUBACK/s: publisher's acknowledged rate;`,
);
console.log(
  `lost / reordered / duplicated / held back: summed over all rounds; held back = not delivered live, only after the subscriber reconnected; lost = not delivered even then.`,
);
console.log(
  "CPU: share of one core over the run (broker: all its threads, LevelDB's included); msgs per broker CPU-s: how much the broker process spends per message, less sensitive to the load of a shared machine than msgs/s.",
);
const memory = rows.find((r) => r.kind === 'memory');
const level = rows.find((r) => r.kind === 'level');
if (ours && memory) console.log(`ours / aedes in-memory = ${(ours.msgsPerSec / memory.msgsPerSec).toFixed(2)} (target ≥ 0.5)`);
if (ours && level) console.log(`ours / aedes-persistence-level = ${(ours.msgsPerSec / level.msgsPerSec).toFixed(2)} (target ≥ 4)`);
if (ours)
  console.log(
    `ours: lost ${ours.sub.lost}, reordered ${ours.sub.reordered}, duplicated ${ours.sub.duplicated}, held back ${ours.sub.heldBack} (target 0 lost, 0 reordered)`,
  );
