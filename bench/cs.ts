// npm run bench:cs [-- --records N] [--searches Q] [--verifies V (0: skip)]
// CS at Yokohama scale (≈3.7 M records over 18 ward codes), in one run:
//   verify:       identity.verify (flow 2) round trips through broker, uplink, Mosquitto and the simulated
//                 national server: p50/p99 one at a time and round trips/s with 16 in flight (bench/cs-verify.ts,
//                 its own process on the e2e stack with 300 residents: verify never reads the store)
//   build:        the generated population loaded through `juki-gw import --generate` (records + all indexes)
//   index:        rebuild of the 個人番号/name/name+year/name+address-area/address indexes from the stored records
//   search:       identity.search p50/p99 over Q realistic 4-item queries (target p99 < 20 ms), right
//                 after the load and after a full compaction (steady state)
//   RSS:          resident set after build + searches (target < 1.5 GB)
//   consistency:  incremental check vs the full-transfer baseline, 100 planted differences
//                 (target < 60 s and < 1 % of the full-transfer bytes, all 100 found, none false)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openApplianceDb, type Db } from '../platform/store/db.js';
import { IdentityStore } from '../gateway/cs/identityStore.js';
import type { IdentityChange } from '../gateway/cs/identityStoreTypes.js';
import { importGenerated } from '../gateway/cs/import/importer.js';
import { ConsistencyChecker } from '../gateway/cs/consistency/session.js';
import { StoreConsistencyPeer } from '../gateway/cs/consistency/peer.js';
import type { ConsistencyMode, Difference } from '../gateway/cs/consistency/protocol.js';
import { buildQueries, personAt, searchRound, spec } from './lib/csSearch.js';
import { sealedBenchCodec } from './lib/csCodec.js';

const { values } = parseArgs({
  options: { records: { type: 'string' }, searches: { type: 'string' }, seed: { type: 'string' }, verifies: { type: 'string' } },
});
const N = values.records ? Number(values.records) : spec.size;
const Q = values.searches ? Number(values.searches) : 3000;
const seed = values.seed ?? 'bench';
const V = values.verifies ? Number(values.verifies) : 300;
if (!Number.isInteger(N) || N < 1000 || !Number.isInteger(Q) || Q < 1 || !Number.isInteger(V) || V < 0) {
  process.stderr.write('usage: npm run bench:cs -- [--records N (≥1000)] [--searches Q] [--verifies V (0: skip)]\n');
  process.exit(2);
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (s: string) => process.stdout.write(s + '\n');
const person = (i: number): IdentityChange => personAt(seed, i);
/** Anonymous vs file-backed (mmapped table files, reclaimable page cache) resident memory. */
const rssSplit = () => {
  try {
    const st = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN) * 1024;
    return `anonymous ${mb(kb('RssAnon'))}, file-backed ${mb(kb('RssFile'))}`;
  } catch {
    return 'split unavailable';
  }
};

const root = mkdtempSync(join(tmpdir(), 'bench-cs-'));
const localDir = join(root, 'cs');
const peerDir = join(root, 'pref');
// Record and name-index values sealed as in the appliance (AES-256-GCM per value).
const keyFile = join(root, 'data-key');
const codec = sealedBenchCodec(keyFile);
const results: Record<string, unknown> = {
  records: N,
  searches: Q,
  cpus: 'shared 2-core host',
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
};

try {
  log(
    `CS bench: ${N.toLocaleString('en')} Yokohama residents (18 ward codes), ${Q} searches; store values sealed (AES-256-GCM) as in the appliance; temp ${root}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  // ---- verify (flow 2), before the store work so its stack has the machine to itself -------
  if (V > 0) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'cs-verify.ts'), '--verifies', String(V)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const v = JSON.parse(out.trim().split('\n').pop()!) as {
      concurrency: number;
      failed: number;
      baselineRefused: { p50ms: number; p99ms: number };
      sequential: { p50ms: number; p99ms: number; maxMs: number; perSecond: number };
      concurrent: { p50ms: number; p99ms: number; perSecond: number };
    };
    results.verify = v;
    log(
      `identity.verify ×${V} (terminal → CS → uplink → Mosquitto → national simulator → reply, 300-resident stack): ` +
        `one at a time p50 ${v.sequential.p50ms} ms, p99 ${v.sequential.p99ms} ms, max ${v.sequential.maxMs} ms (${v.sequential.perSecond}/s); ` +
        `${v.concurrency} in flight ${v.concurrent.perSecond} round trips/s, p50 ${v.concurrent.p50ms} ms, p99 ${v.concurrent.p99ms} ms; failed ${v.failed}; ` +
        `baseline (refused broken JSON) p50 ${v.baselineRefused.p50ms} ms, p99 ${v.baselineRefused.p99ms} ms (p50 ratio ×${(v.sequential.p50ms / v.baselineRefused.p50ms).toFixed(1)})`,
    );
  }

  // ---- build ------------------------------------------------------------------------------
  let db: Db = await openApplianceDb(localDir);
  let store = await IdentityStore.open(db, { codec });
  const t0 = performance.now();
  let lastShown = 0;
  await importGenerated(db, store, spec, N, {
    seed,
    onProgress: (p) => {
      if (p.done - lastShown >= N / 10) {
        lastShown = p.done;
        process.stderr.write(`  build ${Math.round((100 * p.done) / N)}% (${secs(performance.now() - t0)})\n`);
      }
    },
  });
  const buildMs = performance.now() - t0;
  results.buildSeconds = +(buildMs / 1000).toFixed(1);
  results.buildRecordsPerSecond = Math.round(N / (buildMs / 1000));
  log(
    `build (records + 個人番号/name/name+year/name+address-area/address/listing indexes): ${secs(buildMs)}, ${String(results.buildRecordsPerSecond)} records/s`,
  );
  results.rssAfterBuildMB = +(process.memoryUsage().rss / 1e6).toFixed(0);
  log(`RSS right after the load: ${mb(process.memoryUsage().rss)} (${rssSplit()})`);
  const ti = performance.now();
  await store.rebuildSearchIndexes();
  const indexMs = performance.now() - ti;
  results.searchIndexRebuildSeconds = +(indexMs / 1000).toFixed(1);
  log(
    `search index build from the stored records (個人番号, name, name+year, name+address-area, address; HMAC keys): ${secs(indexMs)}, ${Math.round(N / (indexMs / 1000))} records/s`,
  );

  // ---- search ----------------------------------------------------------------------------
  const queries = buildQueries(seed, N, Q);
  const round = async (label: string, key: string) => {
    const r = await searchRound(store, queries);
    results[key] = r;
    log(
      `identity.search ${label}: p50 ${r.p50ms} ms, p99 ${r.p99ms} ms (target < 20 ms), max ${r.maxMs} ms; ` +
        `target found ${Q - r.missed - r.tooManyHits}/${Q}, too_many_hits ${r.tooManyHits}, missed ${r.missed}, mean hits ${r.meanHits}`,
    );
  };
  await round('right after the bulk load (compactions still running)', 'searchAfterLoad');
  const tc = performance.now();
  await db.compactRange('', '~');
  results.compactSeconds = +((performance.now() - tc) / 1000).toFixed(1);
  log(`full LevelDB compaction (steady state): ${secs(performance.now() - tc)}`);
  await round('steady state (compacted)', 'search');
  const rss = process.memoryUsage().rss;
  results.rssAfterBuildAndSearchMB = +(rss / 1e6).toFixed(0);
  log(
    `RSS with ${N.toLocaleString('en')} records loaded and searched: ${mb(rss)} (target < 1.5 GB; ${rssSplit()}); heap ${mb(process.memoryUsage().heapUsed)}`,
  );

  // ---- the same store served by a fresh process (the appliance after import and restart) ----
  await db.close();
  const served = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'cs-serve.ts'),
      '--dir',
      localDir,
      '--key',
      keyFile,
      '--records',
      String(N),
      '--searches',
      String(Q),
      '--seed',
      seed,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  const fresh = JSON.parse(served.trim().split('\n').pop()!) as {
    secondRound: { p50ms: number; p99ms: number; maxMs: number };
    rssMB: number;
    anonMB: number;
    fileMB: number;
  };
  results.freshProcess = fresh;
  log(
    `fresh serving process: identity.search p50 ${fresh.secondRound.p50ms} ms, p99 ${fresh.secondRound.p99ms} ms (target < 20 ms), max ${fresh.secondRound.maxMs} ms; ` +
      `RSS ${fresh.rssMB} MB with ${N.toLocaleString('en')} records (target < 1.5 GB; anonymous ${fresh.anonMB} MB, file-backed ${fresh.fileMB} MB)`,
  );

  // ---- consistency ------------------------------------------------------------------------
  cpSync(localDir, peerDir, { recursive: true }); // the prefectural server starts as an exact copy
  db = await openApplianceDb(localDir);
  store = await IdentityStore.open(db, { codec });
  const peerDb = await openApplianceDb(peerDir);
  const peerStore = await IdentityStore.open(peerDb, { codec });
  const expected = new Map<string, string>();
  const applyTo = async (d: Db, s: IdentityStore, c: IdentityChange) => {
    const b = d.batch();
    await s.apply(b, c);
    await b.write();
  };
  for (let k = 0; k < 60; k++) {
    const r = person(Math.floor(((k + 0.5) * N) / 60));
    if (k < 40)
      await applyTo(peerDb, peerStore, { ...r, address: r.address + '　別館', changeReason: 'correct', changeDate: '2026-10-01' });
    else await applyTo(peerDb, peerStore, { ...r, changeReason: 'delete', changeDate: '2026-10-01' });
    expected.set(r.residentCode, 'differing');
  }
  for (let k = 0; k < 40; k++) {
    const r = person(N + k); // beyond the population: unique codes and numbers
    if (k < 20) {
      await applyTo(peerDb, peerStore, r);
      expected.set(r.residentCode, 'server_only');
    } else {
      await applyTo(db, store, r);
      expected.set(r.residentCode, 'cs_only');
    }
  }
  log(`planted ${expected.size} differences (40 corrected, 20 deleted at the server; 20 only at the server; 20 only at the CS)`);

  const server = new StoreConsistencyPeer(peerStore);
  const lgCodes = spec.municipalities.map((m) => m.lgCode);
  const runMode = async (mode: ConsistencyMode) => {
    const checker = new ConsistencyChecker(db, store);
    const t = performance.now();
    let sent = 0,
      received = 0,
      requests = 0;
    const found = new Map<string, Difference>();
    for (const lgCode of lgCodes) {
      const s = await checker.start({ lgCode, mode, peer: 'pref:140007', transport: server.transport });
      sent += s.bytesSent;
      received += s.bytesReceived;
      requests += s.requests;
      for await (const d of checker.sessions.differences(s.id)) found.set(d.residentCode, d);
    }
    const ms = performance.now() - t;
    const right = [...expected].filter(([c, kind]) => found.get(c)?.kind === kind).length;
    const falseDiffs = [...found.keys()].filter((c) => !expected.has(c)).length;
    return { ms, bytes: sent + received, sent, received, requests, right, falseDiffs, rss: process.memoryUsage().rss };
  };
  const inc = await runMode('incremental');
  log(
    `consistency, incremental: ${secs(inc.ms)}, ${mb(inc.bytes)} exchanged (${mb(inc.sent)} sent, ${mb(inc.received)} received, ${inc.requests} messages); found ${inc.right}/100, false ${inc.falseDiffs}`,
  );
  const full = await runMode('full');
  log(
    `consistency, full transfer: ${secs(full.ms)}, ${mb(full.bytes)} exchanged (${full.requests} messages); found ${full.right}/100, false ${full.falseDiffs}`,
  );
  results.consistency = {
    incremental: {
      seconds: +(inc.ms / 1000).toFixed(1),
      bytes: inc.bytes,
      messages: inc.requests,
      found: inc.right,
      falseDifferences: inc.falseDiffs,
    },
    full: {
      seconds: +(full.ms / 1000).toFixed(1),
      bytes: full.bytes,
      messages: full.requests,
      found: full.right,
      falseDifferences: full.falseDiffs,
    },
    bytesRatioPercent: +((100 * inc.bytes) / full.bytes).toFixed(3),
    timeRatio: +(inc.ms / full.ms).toFixed(3),
  };
  log(
    `ratio incremental / full: bytes ${((100 * inc.bytes) / full.bytes).toFixed(3)} % (target < 1 %), time ${(inc.ms / full.ms).toFixed(3)} (${(full.ms / inc.ms).toFixed(1)}× faster)`,
  );
  results.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1000);
  log(`peak RSS of the whole run (two stores open during the check): ${String(results.peakRssMB)} MB; now ${rssSplit()}`);
  await db.close();
  await peerDb.close();
  log(JSON.stringify(results));
} finally {
  rmSync(root, { recursive: true, force: true });
}
