// Soak: `npm run bench:soak -- [--minutes 10] [--rate 20] [--outage-every 60] [--outage-seconds 10] [--kill]`
// diagnosis: [--restart-at 0.55] [--live-heap] [--heap-snapshots DIR] [--mem-log FILE.csv].
// Mosquitto as the upstream broker with the simulated upstream nodes on it; the appliance (broker,
// CS role, uplink, audit, SoftHSM signer) in a child process; a resident-register system sends
// identity.update at a steady rate; Mosquitto is stopped and started periodically; the appliance is
// restarted once (SIGTERM, or SIGKILL with --kill). Every accepted update (an identity.update.result)
// must reach the prefectural simulator as identity.notify: lost = accepted − received, by
// (住民票コード, 更新順番号). The appliance reports its memory every 2 s (RSS as anon + file, V8 heap,
// external); least-squares slopes per process life are reported (bench/lib/soakMemory.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { flag, intFlag } from './lib/args.js';
import {
  anonSplit,
  envelopeSlope,
  MEM_FIELDS,
  memLine,
  minuteEnvelope,
  parseMemLine,
  slope,
  steadySummary,
  type AnonSplit,
  type MemSample,
} from './lib/soakMemory.js';
import { diffHeap } from './lib/soakHeap.js';

const argv = process.argv.slice(2);
const SERVED = '242012';
const PREF = 'pref:240001';
const RESIDENTS = 200;

async function child(): Promise<void> {
  const { configSchema } = await import('../config/schema/index.js');
  const { startBroker } = await import('../broker/server.js');
  const { createAuditLog } = await import('../gateway/audit/index.js');
  const { createKeyHasher } = await import('../gateway/crypto/index.js');
  const { IdentityStore } = await import('../gateway/cs/identityStore.js');
  const { startCsRole } = await import('../gateway/cs/role.js');
  const { openApplianceDb } = await import('../platform/store/db.js');
  const { createUplink } = await import('../gateway/uplink/index.js');
  const { createSigner } = await import('../hsm/index.js');
  const { reloadingVerifier } = await import('../sim/pki.js');
  const { generateResidents } = await import('../sim/residents.js');
  const { createLogger } = await import('../platform/log/logger.js');
  const { hsmSection } = await import('../config/schema/hsm.js');
  const env = process.env;
  const dataDir = env.DATA_DIR!;
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'silent' });
  const config = configSchema.parse({
    municipalities: [SERVED],
    dataDir,
    listeners: [{ name: 'plain', type: 'plain', host: '127.0.0.1', port: Number(env.PORT) }],
    systems: [{ id: 'rr-01', role: 'resident-register', password: { file: env.PW_FILE! } }],
    upstreams: [{ name: 'juki', url: env.BROKER_URL!, nodes: ['*'] }],
    uplink: { defaultTimeoutMs: 5000, retry: { initialMs: 100, maxMs: 2000, maxAttempts: 1000 } },
    limits: { minFreeDiskBytes: 0 },
  });
  const signer = await createSigner(hsmSection.parse({ kind: 'auto', keyLabel: 'soak' }), { dataDir });
  const db = await openApplianceDb(join(dataDir, 'db'));
  const store = await IdentityStore.open(db);
  if (store.lastSeq() === 0) {
    const b = db.batch();
    for (const p of generateResidents('tsu', { count: RESIDENTS })) await store.apply(b, p, { mode: 'load' });
    await b.write();
  }
  const broker = await startBroker(config, { logger, db });
  const pkiDir = env.PKI_DIR!;
  const uplink = await createUplink({
    config,
    db,
    signer,
    logger,
    verifier: reloadingVerifier({ dir: pkiDir, caPem: readFileSync(join(pkiDir, 'ca', 'ca.pem'), 'utf8') }),
  });
  const audit = await createAuditLog({ db, signer, logger });
  const role = await startCsRole({
    config,
    db,
    logger,
    broker,
    uplink,
    audit: { log: audit, hashKey: createKeyHasher(Buffer.alloc(32, 7)) },
    identityStore: store,
  });
  process.stdout.write('ready\n');
  const timer = setInterval(() => process.stdout.write(`depth ${uplink.queueStats().juki?.depth ?? 0}\n`), 1000);
  const leveldbBytes = () => {
    try {
      return Number(db.getProperty('leveldb.approximate-memory-usage')) || 0;
    } catch {
      return 0;
    }
  };
  const memTimer = setInterval(() => process.stdout.write(memLine(process.memoryUsage(), leveldbBytes())), 2000);
  const anonTimer = setInterval(() => {
    try {
      process.stdout.write(`anon ${JSON.stringify(anonSplit())}\n`);
    } catch {
      /* not Linux */
    }
  }, 30_000);
  // --live-heap: a full GC every 30 s, then heapUsed is the live JS heap (what a leak in our code grows).
  const gc = (globalThis as { gc?: () => void }).gc;
  const liveTimer =
    gc && env.LIVE_HEAP
      ? setInterval(() => {
          gc();
          process.stdout.write(`live ${process.memoryUsage().heapUsed}\n`);
        }, 30_000)
      : undefined;
  process.on('SIGTERM', () => {
    clearInterval(timer);
    clearInterval(memTimer);
    clearInterval(anonTimer);
    clearInterval(liveTimer);
    void (async () => {
      await broker.close();
      await role.close();
      await uplink.close();
      await audit.close();
      await db.close();
      await signer.close();
      process.exit(0);
    })();
  });
}

export { slope };

async function parent(): Promise<void> {
  const minutes = Number(flag(argv, 'minutes') ?? 10);
  const rate = intFlag(argv, 'rate', 20);
  const outageEvery = intFlag(argv, 'outage-every', 60);
  const outageSeconds = intFlag(argv, 'outage-seconds', 10);
  const hardKill = argv.includes('--kill');
  const durationMs = minutes * 60_000;
  const { startMosquitto } = await import('../test/helpers/mosquitto.js');
  const { freePort } = await import('../test/helpers/ports.js');
  const { tempDir } = await import('../test/helpers/tmp.js');
  const { openSimPki } = await import('../test/helpers/uplink.js');
  const { hsmSection } = await import('../config/schema/hsm.js');
  const { createSigner, certificateFiles, toPem } = await import('../hsm/index.js');
  const { certifyAppliance } = await import('../sim/pki.js');
  const { startSimulators } = await import('../sim/run.js');
  const { generateResidents } = await import('../sim/residents.js');
  const { createLogger } = await import('../platform/log/logger.js');
  const { uuidv7 } = await import('../platform/envelope.js');

  const dir = tempDir('jukigw-soak-');
  const cleanups: Array<() => Promise<void> | void> = [() => dir.cleanup()];
  const logger = createLogger({ level: 'silent' });
  try {
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.close());
    const pki = await openSimPki(join(dir.path, 'pki'));
    const residents = [...generateResidents('tsu', { count: RESIDENTS })];
    const sims = await startSimulators({ brokerUrl: mosq.url, pkiDir: pki.dir, servedCodes: [SERVED], people: residents as never, logger });
    cleanups.push(() => sims.close());
    // The appliance key on its data-dir SoftHSM token, certified by the simulated CA (child processes reuse it).
    const dataDir = join(dir.path, 'data');
    const hsm = hsmSection.parse({ kind: 'auto', keyLabel: 'soak' });
    const first = await createSigner(hsm, { dataDir });
    const certified = await certifyAppliance(pki, first, `lg:${SERVED}`);
    writeFileSync(certificateFiles(hsm, dataDir).certFile, toPem(certified.certificateDer));
    await first.close();
    const pwFile = join(dir.path, 'pw');
    const password = randomBytes(12).toString('hex');
    writeFileSync(pwFile, password, { mode: 0o600 });
    const port = await freePort();

    let app: ChildProcess | undefined;
    const lives: Array<{
      pid: number;
      startedMin: number;
      samples: MemSample[];
      live: Array<[number, number]>;
      anon: Array<AnonSplit & { min: number }>;
    }> = [];
    const t0 = Date.now();
    const sinceMin = () => (Date.now() - t0) / 60_000;
    // --heap-snapshots DIR: the child writes a snapshot on SIGUSR2 (after a full GC); one at the
    // start of each life's steady part and one at its end, diffed per life. Writing one blocks the
    // child and lifts its RSS, so the figures of such a run are for finding a leak, not for the record.
    const snapshotDir = flag(argv, 'heap-snapshots');
    const liveHeap = argv.includes('--live-heap');
    const memLog = flag(argv, 'mem-log');
    const startApp = () =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(
          process.execPath,
          [
            ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : []),
            ...(liveHeap ? ['--expose-gc'] : []),
            '--import',
            'tsx',
            new URL(import.meta.url).pathname,
            '--child',
          ],
          {
            // The appliance runs as deployed: the systemd unit and the image set MALLOC_ARENA_MAX=2.
            env: {
              MALLOC_ARENA_MAX: '2',
              ...process.env,
              ...(liveHeap ? { LIVE_HEAP: '1' } : {}),
              DATA_DIR: dataDir,
              PKI_DIR: pki.dir,
              BROKER_URL: mosq.url,
              PORT: String(port),
              PW_FILE: pwFile,
            },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const life = {
          pid: c.pid!,
          startedMin: sinceMin(),
          samples: [] as MemSample[],
          live: [] as Array<[number, number]>,
          anon: [] as Array<AnonSplit & { min: number }>,
        };
        lives.push(life);
        let buf = '';
        c.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const line of lines) {
            if (line === 'ready') resolve();
            const m = parseMemLine(line, sinceMin());
            if (m) life.samples.push(m);
            if (line.startsWith('anon ')) life.anon.push({ min: sinceMin(), ...(JSON.parse(line.slice(5)) as AnonSplit) });
            const live = /^live (\d+)$/.exec(line);
            if (live) life.live.push([sinceMin(), Number(live[1]) / 1048576]);
          }
        });
        c.once('exit', (code) => reject(new Error(`appliance exited (${code}) before ready`)));
        app = c;
      });
    const snapshot = () => {
      if (snapshotDir && app?.exitCode === null) app.kill('SIGUSR2');
    };
    const stopApp = async (signal: NodeJS.Signals) => {
      const c = app!;
      await new Promise<void>((r) => {
        c.removeAllListeners('exit');
        c.once('exit', () => r());
        c.kill(signal);
      });
    };
    cleanups.push(async () => {
      if (app && app.exitCode === null) await stopApp('SIGKILL');
    });
    await startApp();
    // --restart-at 0.9: a long first life, to watch one process's memory settle (diagnosis).
    const restartAt = Number(flag(argv, 'restart-at') ?? 0.55);
    if (!(restartAt > 0 && restartAt < 1))
      throw new Error(`--restart-at must be a fraction of the run between 0 and 1, got "${flag(argv, 'restart-at')}"`);
    const restartAtMs = durationMs * restartAt;
    const snapshotTimers = snapshotDir
      ? [restartAtMs / 3, restartAtMs - 15_000, restartAtMs + (durationMs - restartAtMs) / 3, durationMs - 5_000].map((ms) =>
          setTimeout(snapshot, ms),
        )
      : [];

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'rr-01',
      username: 'rr-01',
      password,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 500,
    });
    cleanups.push(() => client.endAsync(true).then(() => undefined));
    const accepted = new Map<string, string>(); // request id → residentCode:updateSeq
    const refused: string[] = [];
    client.on('message', (_t, payload) => {
      const e = JSON.parse(payload.toString('utf8')) as {
        type: string;
        corr: string;
        body: { residentCode?: string; updateSeq?: number; code?: string; message?: string };
      };
      if (e.type === 'identity.update.result') accepted.set(e.corr, `${e.body.residentCode}:${e.body.updateSeq}`);
      else refused.push(`${e.body.code}: ${e.body.message}`);
    });
    await client.subscribeAsync('res/rr-01', { qos: 1 });

    const sent = new Set<string>();
    let publishing = 0;
    let i = 0;
    const loadTimer = setInterval(() => {
      const r = residents[i++ % residents.length]!;
      const id = uuidv7();
      const body = { record: { ...r, changeReason: 'correct', changeDate: '2026-01-05', status: 'current' } };
      publishing++;
      client
        .publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body }), { qos: 1 })
        .then(
          () => sent.add(id),
          () => undefined,
        )
        .finally(() => publishing--);
    }, 1000 / rate);

    // Outages of the upstream broker, and one appliance restart half-way.
    const events: string[] = [];
    let outages = 0;
    const at = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
    const outageLoop = (async () => {
      for (let next = outageEvery * 1000; next + outageSeconds * 1000 < durationMs; next += outageEvery * 1000) {
        await new Promise((r) => setTimeout(r, t0 + next - Date.now()));
        await mosq.stop();
        events.push(`${at()} upstream down`);
        await new Promise((r) => setTimeout(r, outageSeconds * 1000));
        await mosq.start();
        events.push(`${at()} upstream up`);
        outages++;
      }
    })();
    const restartLoop = (async () => {
      await new Promise((r) => setTimeout(r, restartAtMs));
      await stopApp(hardKill ? 'SIGKILL' : 'SIGTERM');
      events.push(`${at()} appliance stopped (${hardKill ? 'SIGKILL' : 'SIGTERM'})`);
      await startApp();
      events.push(`${at()} appliance started`);
    })();
    await new Promise((r) => setTimeout(r, durationMs));
    clearInterval(loadTimer);
    await Promise.all([outageLoop, restartLoop]);
    events.push(`${at()} load stopped; draining`);

    // Drain: every acknowledged request answered, every accepted update delivered upstream.
    const notified = () =>
      new Set(
        sims
          .node(PREF)
          .received.filter((e) => e.type === 'identity.notify')
          .map((e) => {
            const rec = (e.body as { record: { residentCode: string; updateSeq: number } }).record;
            return `${rec.residentCode}:${rec.updateSeq}`;
          }),
      );
    const drainUntil = Date.now() + 120_000;
    let lost: string[] = [];
    let unanswered: string[] = [];
    for (;;) {
      const got = notified();
      lost = [...accepted.values()].filter((k) => !got.has(k));
      unanswered = [...sent].filter((id) => !accepted.has(id));
      if ((lost.length === 0 && unanswered.length === refused.length && publishing === 0) || Date.now() > drainUntil) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    events.push(`${at()} drained`);
    for (const t of snapshotTimers) clearTimeout(t);
    // Per process life (a restart resets RSS, so one regression over both lives would measure the
    // restart): after a 30 s warm-up as before, and over the steady last 2/3 of the life, with the
    // JS heap apart from RSS (a leak in our code grows heapUsed; LevelDB and the allocator do not).
    const rssOf = (xs: MemSample[]): Array<[number, number]> => xs.map((x) => [x.min, x.rss]);
    const perLife = lives.map((l) => {
      const warm = l.samples.filter((x) => x.min - l.startedMin >= 0.5);
      return {
        startedAtMin: Number(l.startedMin.toFixed(2)),
        samples: l.samples.length,
        slopeAfter30sMbPerMin: Number(slope(rssOf(warm)).toFixed(3)),
        firstMb: Math.round(warm[0]?.rss ?? 0),
        lastMb: Math.round(warm.at(-1)?.rss ?? 0),
        steady: steadySummary(l.samples),
        // main arena / thread arenas (count) / other anon, MB, every 30 s
        anonSplitMb: l.anon
          .map(
            (a) =>
              `${(a.min - l.startedMin).toFixed(1)}:${a.mainArenaMb.toFixed(0)}/${a.threadArenasMb.toFixed(0)}(${a.threadArenas})/${a.otherAnonMb.toFixed(0)}`,
          )
          .join(' '),
        rssPerMinute: minuteEnvelope(l.samples, l.startedMin)
          .map((e) => `${e.minute}:${e.minMb}-${e.maxMb}`)
          .join(' '),
        rssHighsSlopeMbPerMin: envelopeSlope(minuteEnvelope(l.samples, l.startedMin)) ?? null,
        ...(l.live.length
          ? {
              liveHeapMb: l.live.map(([m, v]) => `${m.toFixed(1)}:${v.toFixed(1)}`).join(' '),
              liveHeapSlopeSteadyMbPerMin: Number(slope(l.live.slice(Math.floor(l.live.length / 3))).toFixed(3)),
            }
          : {}),
      };
    });
    const all = lives.flatMap((l) => l.samples);
    if (memLog)
      writeFileSync(
        memLog,
        [
          'life,min,' + MEM_FIELDS.join(','),
          ...lives.flatMap((l, i) => l.samples.map((x) => [i, x.min.toFixed(3), ...MEM_FIELDS.map((k) => x[k].toFixed(2))].join(','))),
        ].join('\n') + '\n',
      );
    const report = {
      minutes,
      rate,
      outages,
      restart: hardKill ? 'SIGKILL' : 'SIGTERM',
      sent: sent.size,
      accepted: accepted.size,
      refused: refused.length,
      unanswered: unanswered.length - refused.length,
      deliveredUpstream: notified().size,
      lost: lost.length,
      duplicatesAtSimulator: sims.node(PREF).received.filter((e) => e.type === 'identity.notify').length - notified().size,
      rssMb: {
        first: Math.round(all[0]?.rss ?? 0),
        last: Math.round(all.at(-1)?.rss ?? 0),
        max: Math.round(Math.max(...all.map((x) => x.rss))),
      },
      rssSlopeMbPerMin: perLife.map((l) => l.slopeAfter30sMbPerMin),
      steadyRssSlopeMbPerMin: perLife.map((l) => l.steady?.slopeMbPerMin.rss ?? null),
      steadyHeapUsedSlopeMbPerMin: perLife.map((l) => l.steady?.slopeMbPerMin.heapUsed ?? null),
      steadyRssAnonSlopeMbPerMin: perLife.map((l) => l.steady?.slopeMbPerMin.rssAnon ?? null),
      steadyRssFileSlopeMbPerMin: perLife.map((l) => l.steady?.slopeMbPerMin.rssFile ?? null),
      rssHighsSlopeMbPerMin: perLife.map((l) => l.rssHighsSlopeMbPerMin),
      steadyLeveldbSlopeMbPerMin: perLife.map((l) => l.steady?.slopeMbPerMin.leveldb ?? null),
      steadyOtherNativeSlopeMbPerMin: perLife.map((l) => l.steady?.slopeMbPerMin.otherNative ?? null),
      rssPerLife: perLife,
      memSamples: all.length,
    };
    console.log(events.map((e) => `  ${e}`).join('\n'));
    if (refused.length) console.log(`  refusals: ${[...new Set(refused)].slice(0, 5).join(' | ')}`);
    if (lost.length) console.log(`  lost (first 10): ${lost.slice(0, 10).join(', ')}`);
    console.log(JSON.stringify(report, null, 2));
    if (snapshotDir) {
      const { readdirSync } = await import('node:fs');
      for (const l of lives) {
        const files = readdirSync(snapshotDir)
          .filter((f) => f.includes(`.${l.pid}.`) && f.endsWith('.heapsnapshot'))
          .sort();
        if (files.length < 2) continue;
        const d = diffHeap(join(snapshotDir, files[0]!), join(snapshotDir, files.at(-1)!));
        console.log(
          `  heap of pid ${l.pid} (life from ${l.startedMin.toFixed(1)} min): live ${(d.totalBytes[0] / 1048576).toFixed(1)} → ${(d.totalBytes[1] / 1048576).toFixed(1)} MB; grew most:`,
        );
        for (const g of d.grew) console.log(`    ${(g.bytes / 1024).toFixed(0).padStart(7)} KiB ${String(g.count).padStart(7)}  ${g.key}`);
      }
    }
    console.log(
      `soak: ${report.accepted} accepted, ${report.lost} lost, RSS slope per appliance life ${report.rssSlopeMbPerMin.join(' / ')} MB/min after 30 s, ${report.steadyRssSlopeMbPerMin.join(' / ')} over the last 2/3, per-minute highs ${report.rssHighsSlopeMbPerMin.join(' / ')} (anon ${report.steadyRssAnonSlopeMbPerMin.join(' / ')}, file ${report.steadyRssFileSlopeMbPerMin.join(' / ')}; heapUsed ${report.steadyHeapUsedSlopeMbPerMin.join(' / ')}; LevelDB ${report.steadyLeveldbSlopeMbPerMin.join(' / ')}; other native ${report.steadyOtherNativeSlopeMbPerMin.join(' / ')}) over ${minutes} min`,
    );
    process.exitCode = report.lost === 0 && report.unanswered === 0 ? 0 : 1;
  } finally {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
  }
}

if (argv.includes('--child')) await child();
else await parent();
