// Throughput of the pure domain/messages code, against baselines measured in the same run.
// Run: npm run bench:domain -- [records]   (default 280000, about Tsu's population)
import { createHash } from 'node:crypto';
import { BucketAccumulator, recordHash } from '../domain/consistency.js';
import { residentCodeCheckDigit } from '../domain/identifiers.js';
import { indexKeysOf } from '../domain/searchKeys.js';
import { EXAMPLE_BODIES, EXAMPLE_RECORD } from '../gateway/messages/examples.js';
import { createMessageRegistry, validateBody } from '../gateway/messages/registry.js';

const n = Number(process.argv[2] ?? 280_000);
const code = (i: number) => {
  const b = String(i).padStart(10, '0');
  return b + residentCodeCheckDigit(b);
};
const time = (f: () => void): number => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const report = (what: string, ms: number, base: number, count: number) =>
  console.log(`${what.padEnd(44)} ${((count / ms) * 1000).toFixed(0).padStart(9)}/s  ${(ms / base).toFixed(2)}× baseline`);

const registry = createMessageRegistry({ today: () => '2026-11-24' });
const body = EXAMPLE_BODIES['identity.update'].request;
const m = Math.min(n, 50_000);
const jsonBase = time(() => {
  for (let i = 0; i < m; i++) JSON.parse(JSON.stringify(body));
});
report(
  'validateBody(identity.update)  [base: JSON round trip]',
  time(() => {
    for (let i = 0; i < m; i++) validateBody('identity.update', body, registry);
  }),
  jsonBase,
  m,
);

const shaBase = time(() => {
  for (let i = 0; i < n; i++) createHash('sha256').update(code(i)).digest();
});
const acc = new BucketAccumulator(12);
report(
  'recordHash + bucket digest  [base: sha256(code)]',
  time(() => {
    for (let i = 0; i < n; i++) {
      const c = code(i);
      acc.add(c, recordHash({ ...EXAMPLE_RECORD, residentCode: c }));
    }
    acc.digests();
  }),
  shaBase,
  n,
);
report(
  'indexKeysOf(record)  [base: sha256(code)]',
  time(() => {
    for (let i = 0; i < n; i++) indexKeysOf(EXAMPLE_RECORD);
  }),
  shaBase,
  n,
);
console.log(`records: ${n}, heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
