// npm run bench:cs-migrate [-- --records N] [--baseline-records M] [--seed S]
// Layout migration of the identity store (identityStoreMigration.ts) at full size: a real layout-1
// store is written by the store of commit 5b271a1 (the one that wrote test/fixtures/identity-store-layout1),
// extracted from git into the temp dir, loading the bench population (bench/lib/csSearch.ts) through
// its importGenerated; then the current code opens it and migrates, in its own process (time, peak RSS).
//   baseline:     the same on M records (default 200,000, the size the full-size time was extrapolated
//                 from), measured in this run: full-size time vs M's time scaled linearly
//   migration:    elapsed, records/s, peak RSS of the migrating process, DB size before/after
//   check:        every sublevel holds as many entries as before, no key names a 住民票コード in clear;
//                 1,000 residents read back and found by identity.search
//   interrupted:  a copy of the layout-1 store, migration killed (SIGKILL) half way through its entries, reopened: it
//                 resumes and ends with exactly the keys of the uninterrupted run
// Record values stay JSON (the store's default codec) in both layouts: the migration never reads them.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openApplianceDb } from '../platform/store/db.js';
import { IdentityStore } from '../gateway/cs/identityStore.js';
import { CodeCipher, isClearCode } from '../gateway/cs/identityStoreKeys.js';
import { buildQueries, personAt, searchRound, spec } from './lib/csSearch.js';

const LAYOUT1_COMMIT = '5b271a1';
const indexKey = Buffer.alloc(32, 3);
const codeKey = Buffer.alloc(32, 4);
const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    'baseline-records': { type: 'string' },
    seed: { type: 'string' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});
const seed = values.seed ?? 'bench';
const log = (s: string) => process.stdout.write(s + '\n');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;

// ---- child: open with the current code (migrates), progress on stdout, then a JSON summary -----
if (values.child === 'migrate') {
  const db = await openApplianceDb(values.dir!);
  const t = performance.now();
  const rewritten: Record<string, number> = {};
  await IdentityStore.open(db, {
    indexKey,
    codeKey,
    onMigrate: (p) => {
      rewritten[p.sublevel] = p.entries;
      process.stdout.write(`progress ${p.sublevel} ${p.entries}\n`);
    },
  });
  const ms = performance.now() - t;
  await db.close();
  process.stdout.write(JSON.stringify({ ms, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1000), rewritten }) + '\n');
  process.exit(0);
}

const N = values.records ? Number(values.records) : spec.size;
const M = values['baseline-records'] ? Number(values['baseline-records']) : 200_000;
if (!Number.isInteger(N) || N < 1000 || !Number.isInteger(M) || M < 1000) {
  process.stderr.write('usage: npm run bench:cs-migrate -- [--records N (≥1000)] [--baseline-records M (≥1000)]\n');
  process.exit(2);
}

const dirBytes = (d: string): number =>
  readdirSync(d, { withFileTypes: true }).reduce(
    (s, e) => s + (e.isDirectory() ? dirBytes(join(d, e.name)) : statSync(join(d, e.name)).size),
    0,
  );

/** Entries per identity sublevel, a hash of their keys (and seq values), and those naming a code in clear. */
async function census(dir: string, explainLeft = true) {
  const db = await openApplianceDb(dir);
  const counts: Record<string, number> = {};
  const hash = createHash('sha256');
  let clear = 0;
  const found: string[] = [];
  const cipher = new CodeCipher(codeKey);
  try {
    for await (const k of db.keys({ gt: '!identity!', lt: '!identity"' })) {
      const m = /^!identity!!([a-z]+)!(.*)$/.exec(k);
      const sub = m?.[1] ?? '?';
      counts[sub] = (counts[sub] ?? 0) + 1;
      if (sub === 'meta') continue;
      hash.update(k + '\n');
      if (m && m[2]!.split('!').some(isClearCode)) {
        clear++;
        if (explainLeft && found.length < 20) found.push(k);
      }
    }
    for await (const v of db.values({ gt: '!identity!!seq!', lt: '!identity!!seq"' })) {
      const s = Buffer.from(v).toString('utf8');
      hash.update(s + '\n');
      if (isClearCode(s)) clear++;
    }
    // What a key left naming a code is: is it readable by get (or only met by the iterator), and is
    // its layout-3 counterpart there? The code itself is masked.
    for (const k of found) {
      const [, sub, rest] = /^!identity!!([a-z]+)!(.*)$/.exec(k)!;
      const parts = rest!.split('!');
      const counterpart =
        '!identity!!' +
        sub +
        '!' +
        parts.map((x, i) => (isClearCode(x) ? cipher.pseudonym(x) : sub === 'lg' && i === 1 ? x.slice(0, 6) : x)).join('!');
      const v = await db.get(k);
      process.stderr.write(
        `  left: ${sub} ${parts.map((x) => (isClearCode(x) ? '<code>' : x)).join('!')} get ${v === undefined ? 'finds nothing' : `finds ${v.length} bytes`}, layout-3 counterpart ${(await db.get(counterpart)) === undefined ? 'absent' : 'present'}\n`,
      );
    }
  } finally {
    await db.close();
  }
  return { counts, clear, keysHash: hash.digest('hex').slice(0, 16) };
}
const withoutMeta = (c: Record<string, number>) =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(c)
        .filter(([k]) => k !== 'meta')
        .sort(),
    ),
  );

/** Runs the migrating child; `killAtEntries` sends it SIGKILL once it reports that many entries rewritten (a power cut). */
function migrate(
  dir: string,
  killAtEntries?: number,
): Promise<
  { ms: number; peakRssMB: number; rewritten: Record<string, number> } | { killed: true; lastProgress: string; entries: number; ms: number }
> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', 'migrate', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let last = '',
      summary: string | undefined,
      killed = false;
    const seen: Record<string, number> = {};
    const total = () => Object.values(seen).reduce((a, b) => a + b, 0);
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (!l.startsWith('progress ')) {
        summary = l;
        return;
      }
      last = l.slice(9);
      const [sub, n] = last.split(' ');
      seen[sub!] = Number(n);
      if (killAtEntries !== undefined && !killed && total() >= killAtEntries) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve({ killed: true, lastProgress: last, entries: total(), ms: performance.now() - t });
      else if (code === 0 && summary) resolve(JSON.parse(summary));
      else reject(new Error(`migration child ended with ${code ?? signal}`));
    });
  });
}

const root = mkdtempSync(join(tmpdir(), 'bench-cs-migrate-'));
try {
  // ---- the layout-1 writer: commit 5b271a1's tree, run against this checkout's node_modules ----
  const old = join(root, 'layout1-code');
  mkdirSync(old);
  execFileSync(
    'sh',
    ['-c', `git archive ${LAYOUT1_COMMIT} gateway sim config hsm bench/lib package.json tsconfig.json | tar -x -C "${old}"`],
    { cwd: join(import.meta.dirname, '..') },
  );
  symlinkSync(join(import.meta.dirname, '..', 'node_modules'), join(old, 'node_modules'));
  writeFileSync(
    join(old, 'write-layout1.ts'),
    [
      `import { openApplianceDb } from './platform/store/db.js';`,
      `import { IdentityStore } from './gateway/cs/identityStore.js';`,
      `import { importGenerated } from './gateway/cs/import/importer.js';`,
      `import { spec } from './bench/lib/csSearch.js';`,
      `const [dir, n, seed] = process.argv.slice(2);`,
      `const db = await openApplianceDb(dir!);`,
      `const store = await IdentityStore.open(db, { indexKey: Buffer.alloc(32, 3) });`,
      `await importGenerated(db, store, spec, Number(n), { seed });`,
      `await db.close();`,
    ].join('\n'),
  );
  const writeLayout1 = (dir: string, n: number) => {
    const t = performance.now();
    execFileSync(process.execPath, ['--import', 'tsx', join(old, 'write-layout1.ts'), dir, String(n), seed], {
      cwd: old,
      stdio: 'inherit',
    });
    return performance.now() - t;
  };
  log(
    `bench:cs-migrate, ${N.toLocaleString('en')} records (baseline ${M.toLocaleString('en')}), layout-1 store written by commit ${LAYOUT1_COMMIT}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );

  // ---- baseline: M records, measured in this run ---------------------------------------------
  const baseDir = join(root, 'baseline');
  writeLayout1(baseDir, M);
  const base = await migrate(baseDir);
  if ('killed' in base) throw new Error('unreachable');
  rmSync(baseDir, { recursive: true, force: true });
  log(`baseline: migration of ${M.toLocaleString('en')} records ${secs(base.ms)} (${Math.round(M / (base.ms / 1000))} records/s)`);

  // ---- the full-size layout-1 store ------------------------------------------------------------
  const dirA = join(root, 'a');
  const writeMs = writeLayout1(dirA, N);
  const sizeBefore = dirBytes(dirA);
  const before = await census(dirA, false);
  log(
    `layout-1 store written by ${LAYOUT1_COMMIT} in ${secs(writeMs)} (${Math.round(N / (writeMs / 1000))} records/s): ${mb(sizeBefore)}, entries ${JSON.stringify(before.counts)}, naming a code in clear ${before.clear}`,
  );
  const dirB = join(root, 'b');
  cpSync(dirA, dirB, { recursive: true });

  // ---- migration, uninterrupted ----------------------------------------------------------------
  const run = await migrate(dirA);
  if ('killed' in run) throw new Error('unreachable');
  const sizeAfter = dirBytes(dirA);
  const extrapolatedMs = base.ms * (N / M);
  log(
    `migration of ${N.toLocaleString('en')} records: ${secs(run.ms)}, ${Math.round(N / (run.ms / 1000))} records/s, peak RSS of the migrating process ${run.peakRssMB} MB; ` +
      `DB ${mb(sizeBefore)} before, ${mb(sizeAfter)} after (old entries deleted, not yet compacted away); rewritten ${JSON.stringify(run.rewritten)}`,
  );
  log(
    `vs baseline: ${M.toLocaleString('en')}-record migration scaled linearly ${secs(extrapolatedMs)}, measured / extrapolated ×${(run.ms / extrapolatedMs).toFixed(2)}; ` +
      `migration / layout-1 write of the same records ×${(run.ms / writeMs).toFixed(2)}`,
  );
  const after = await census(dirA);
  const countsKept = withoutMeta(after.counts) === withoutMeta(before.counts);
  log(`after: entries ${JSON.stringify(after.counts)} (same per sublevel as before: ${countsKept}), naming a code in clear ${after.clear}`);

  // ---- sample read back and searched --------------------------------------------------------
  {
    const db = await openApplianceDb(dirA);
    const store = await IdentityStore.open(db, { indexKey, codeKey });
    const S = 1000;
    let read = 0;
    for (let k = 0; k < S; k++) {
      const p = personAt(seed, Math.floor(((k + 0.5) * N) / S));
      const r = await store.get(p.residentCode);
      if (
        r &&
        r.name === p.name &&
        r.birthDate === p.birthDate &&
        r.address === p.address &&
        (await store.byMyNumber(p.myNumber))?.residentCode === p.residentCode
      )
        read++;
    }
    const s = await searchRound(store, buildQueries(seed, N, S));
    await db.close();
    log(
      `sample: ${read}/${S} residents read back (get by 住民票コード and by 個人番号, fields equal); identity.search of ${S} others: target found ${S - s.missed - s.tooManyHits}, too_many_hits ${s.tooManyHits}, missed ${s.missed}; p50 ${s.p50ms} ms, p99 ${s.p99ms} ms`,
    );
  }
  rmSync(dirA, { recursive: true, force: true }); // its census is kept for the comparison below

  // ---- interrupted migration ------------------------------------------------------------------
  const half = Math.round(Object.values(run.rewritten).reduce((a, b) => a + b, 0) / 2);
  const cut = await migrate(dirB, half);
  if (!('killed' in cut)) throw new Error(`the migration of the copy finished before the kill at ${half} entries`);
  const partial = await census(dirB);
  log(
    `interrupted: SIGKILL after ${secs(cut.ms)}, ${cut.entries.toLocaleString('en')} entries reported rewritten (last progress "${cut.lastProgress}"); ` +
      `then ${partial.clear.toLocaleString('en')} of ${before.clear.toLocaleString('en')} entries still name a code in clear`,
  );
  const resumed = await migrate(dirB);
  if ('killed' in resumed) throw new Error('unreachable');
  const afterB = await census(dirB);
  log(
    `reopened: resumed and finished in ${secs(resumed.ms)}, rewritten on resume ${JSON.stringify(resumed.rewritten)}; ` +
      `entries ${JSON.stringify(afterB.counts)}, same as uninterrupted: ${withoutMeta(afterB.counts) === withoutMeta(after.counts)}, keys identical (hash ${afterB.keysHash} vs ${after.keysHash}): ${afterB.keysHash === after.keysHash}, naming a code in clear ${afterB.clear}`,
  );
  log(
    JSON.stringify({
      records: N,
      baselineRecords: M,
      layout1WriteSeconds: +(writeMs / 1000).toFixed(1),
      migrationSeconds: +(run.ms / 1000).toFixed(1),
      recordsPerSecond: Math.round(N / (run.ms / 1000)),
      peakRssMB: run.peakRssMB,
      dbBytesBefore: sizeBefore,
      dbBytesAfter: sizeAfter,
      baselineSeconds: +(base.ms / 1000).toFixed(1),
      measuredOverExtrapolated: +(run.ms / extrapolatedMs).toFixed(2),
      countsKept,
      clearAfter: after.clear,
      killedAfterEntries: cut.entries,
      clearWhenKilled: partial.clear,
      resumedSeconds: +(resumed.ms / 1000).toFixed(1),
      resumedMatches: afterB.keysHash === after.keysHash,
      clearAfterResume: afterB.clear,
    }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
