// bench:cs, part 2: a fresh process opens the store that the build left on disk and serves the same
// searches, as the appliance does after an import and a restart. Prints one JSON line: latency and
// the resident set of a process that holds N records and serves them (no bulk-load or rebuild memory).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openApplianceDb } from '../platform/store/db.js';
import { IdentityStore } from '../gateway/cs/identityStore.js';
import { buildQueries, searchRound } from './lib/csSearch.js';
import { sealedBenchCodec } from './lib/csCodec.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    key: { type: 'string' },
    records: { type: 'string' },
    searches: { type: 'string' },
    seed: { type: 'string' },
  },
});
const queries = buildQueries(values.seed ?? 'bench', Number(values.records), Number(values.searches));
const db = await openApplianceDb(values.dir!);
const store = await IdentityStore.open(db, values.key ? { codec: sealedBenchCodec(values.key) } : {});
const warm = await searchRound(store, queries);
const round = await searchRound(store, queries);
const st = readFileSync('/proc/self/status', 'utf8');
const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN) * 1024;
process.stdout.write(
  JSON.stringify({
    firstRound: warm,
    secondRound: round,
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
    anonMB: Math.round(kb('RssAnon') / 1e6),
    fileMB: Math.round(kb('RssFile') / 1e6),
  }) + '\n',
);
await db.close();
