// Throughput of the audit log and of encryption at rest, each against a baseline in the same run.
// Run: npm run bench:audit   (not a test: prints figures, asserts nothing)
import { join } from 'node:path';
import { openApplianceDb } from '../platform/store/db.js';
import { createAuditLog } from '../gateway/audit/index.js';
import { openFileKek, openKeyring, reencrypt } from '../gateway/crypto/index.js';
import { lookup, testSigner } from '../test/gateway/audit/audit-helpers.js';
import { tempDir } from '../test/helpers/tmp.js';

const N = Number(process.env.N ?? 20000);
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const dir = tempDir('jukigw-measure-');
try {
  const db = await openApplianceDb(join(dir.path, 'db'));
  const raw = db.sublevel<string, unknown>('bench', { valueEncoding: 'json' });
  const sample = { seq: 1, prev: 'a'.repeat(64), hash: 'b'.repeat(64), event: { ...lookup(1), at: new Date().toISOString() } };

  const baseSeq = await timed(async () => {
    for (let i = 0; i < N; i++) await raw.put(`s${i}`, sample);
  });
  const log = await createAuditLog({ db, signer: await testSigner(), checkpointEvery: 1000, checkpointSeconds: 60 });
  const appendSeq = await timed(async () => {
    for (let i = 0; i < N; i++) await log.append(lookup(i));
  });
  const baseConc = await timed(async () => {
    for (let off = 0; off < N; off += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => raw.put(`c${off + j}`, sample)));
  });
  const appendConc = await timed(async () => {
    for (let off = 0; off < N; off += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => log.append(lookup(off + j))));
  });
  await log.checkpoint();
  let report: Awaited<ReturnType<typeof log.verify>> | undefined;
  const verifyMs = await timed(async () => {
    report = await log.verify();
  });
  console.log(
    `audit append, sequential: ${rate(N, appendSeq)}/s vs raw put ${rate(N, baseSeq)}/s (ratio ${(appendSeq / baseSeq).toFixed(2)}x time)`,
  );
  console.log(
    `audit append, 64 concurrent: ${rate(N, appendConc)}/s vs raw put ${rate(N, baseConc)}/s (ratio ${(appendConc / baseConc).toFixed(2)}x time)`,
  );
  console.log(
    `audit verify: ${report!.entries} entries, ${report!.checkpoints} checkpoints in ${verifyMs.toFixed(0)} ms = ${rate(report!.entries, verifyMs)} entries/s; ok=${report!.ok}`,
  );
  await log.close();

  const kek = openFileKek(join(dir.path, 'keys', 'kek.bin'));
  const ring = await openKeyring({ db, kek });
  const plain = db.sublevel<string, unknown>('plain', { valueEncoding: 'json' });
  const sealed = db.sublevel<string, unknown>('identity', { valueEncoding: ring.valueEncoding('json') as never });
  const rec = (i: number) => ({
    住民票コード: String(10000000000 + i),
    氏名: '津田 花子',
    氏名カナ: 'ツダ ハナコ',
    住所: '三重県津市西丸之内23番1号',
    生年月日: '1980-04-01',
    history: [{ seq: i }],
  });
  const writeAll = (s: typeof plain) =>
    timed(async () => {
      for (let off = 0; off < N; off += 500)
        await s.batch(Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: `k${off + j}`, value: rec(off + j) })));
    });
  const readAll = (s: typeof plain) =>
    timed(async () => {
      for (let i = 0; i < N; i += 1) await s.get(`k${(i * 7919) % N}`);
    });
  const wPlain = await writeAll(plain);
  const wSealed = await writeAll(sealed);
  // Plain read twice (before and after) so a cold cache does not flatter either side.
  const rPlain1 = await readAll(plain);
  const rSealed = await readAll(sealed);
  const rPlain = Math.min(rPlain1, await readAll(plain));
  console.log(
    `encrypted sublevel write (batches of 500): ${rate(N, wSealed)}/s vs plain ${rate(N, wPlain)}/s (ratio ${(wSealed / wPlain).toFixed(2)}x time)`,
  );
  console.log(
    `encrypted sublevel random get: ${rate(N, rSealed)}/s vs plain ${rate(N, rPlain)}/s (ratio ${(rSealed / rPlain).toFixed(2)}x time)`,
  );
  const enc = ring.valueEncoding('json');
  const values = Array.from({ length: N }, (_, i) => rec(i));
  const tJson = await timed(async () => {
    for (const v of values) JSON.parse(JSON.stringify(v));
  });
  const tSeal = await timed(async () => {
    for (const v of values) enc.decode(enc.encode(v));
  });
  console.log(
    `sealed encode+decode per value: ${((tSeal / N) * 1000).toFixed(1)} µs vs JSON round trip ${((tJson / N) * 1000).toFixed(1)} µs (ratio ${(tSeal / tJson).toFixed(2)}x)`,
  );
  await ring.rotate();
  let re: Awaited<ReturnType<typeof reencrypt>> | undefined;
  const reMs = await timed(async () => {
    re = await reencrypt(db, ring, ['identity']);
  });
  console.log(
    `re-encryption pass after rotation: ${re!.rewritten} values in ${reMs.toFixed(0)} ms = ${rate(re!.rewritten, reMs)}/s (vs plain write ${rate(N, wPlain)}/s)`,
  );
  await ring.close();
  await kek.close();
  await db.close();
} finally {
  dir.cleanup();
}
