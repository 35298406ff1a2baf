// Envelope and body fuzz through the real intake (CS stack: broker, durable request queue, intake,
// flows, audit, uplink to Mosquitto): every hostile request gets the precise error reply on
// res/{id}, a terminal keeps being served, nothing is stored, no prototype is polluted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Envelope, ErrorBody } from '../../platform/envelope.js';
import { SUBLEVELS } from '../../platform/store/db.js';
import { startCsStack, until, type CsStack, type LocalClient } from '../helpers/cs-harness.js';
import { envelopeCase, type EnvelopeCase } from '../fuzz/envelopeCases.js';
import { fuzzSeed, rng } from '../fuzz/prng.js';
import { sampleRss, settledHeapMb } from '../fuzz/harness.js';

const CASES = Number(process.env.FUZZ_ENVELOPE_CASES ?? 5000);
const MAX_SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);
const WINDOW = 40;

let s: CsStack;
let rr: LocalClient;
let term: LocalClient;
beforeAll(async () => {
  s = await startCsStack({ residents: 30 });
  rr = await s.client('rr-01');
  term = await s.client('term-01');
}, 120_000);
afterAll(async () => {
  await s?.close();
});

async function countKeys(name: string): Promise<number> {
  let n = 0;
  for await (const _ of s.db.sublevel(name).keys()) n++;
  return n;
}

it(`refuses ${CASES} hostile envelopes and bodies precisely, keeps serving, stores nothing`, async () => {
  const seed = fuzzSeed();
  console.log(`[fuzz:envelope] seed=${seed} (FUZZ_SEED=${seed} replays)`);
  const r = rng(seed);
  const stores = [SUBLEVELS.identity, SUBLEVELS.outbox, SUBLEVELS.pending, SUBLEVELS.moveout, SUBLEVELS.seen];
  const before = Object.fromEntries(await Promise.all(stores.map(async (n) => [n, await countKeys(n)] as const)));
  const heapBefore = await settledHeapMb();
  const rss = sampleRss();
  const resident = s.residents[0]!;
  const t0 = Date.now();
  const mismatches: string[] = [];
  let sent = 0;
  let uncorrelated = 0;
  let served = 0;
  const labels = new Map<string, number>();
  while (sent < CASES && Date.now() - t0 < MAX_SECONDS * 1000) {
    const window: EnvelopeCase[] = Array.from({ length: Math.min(WINDOW, CASES - sent) }, (_, i) => envelopeCase(r, sent + i));
    const seen = new Set(rr.replies);
    const nullsBefore = rr.replies.filter((x) => x.corr === null).length;
    for (const c of window) rr.client.publish(`req/${c.type}`, c.payload, { qos: 1 });
    // The terminal is served in the middle of the storm.
    const verify = await term.request('identity.verify', {
      by: 'residentCode',
      residentCode: resident.residentCode,
      operatorId: 'op-0001',
      terminalId: 'tm-0001',
    });
    if (verify.type === 'identity.verify.result') served++;
    const byCorr = await until(() => {
      const fresh = rr.replies.filter((x) => !seen.has(x));
      return fresh.length >= window.length ? fresh : undefined;
    }, 30_000);
    const map = new Map(byCorr.filter((x) => x.corr !== null).map((x) => [x.corr!, x] as const));
    for (const c of window) {
      labels.set(c.label.replace(/ = .*| key in .*/, ''), (labels.get(c.label.replace(/ = .*| key in .*/, '')) ?? 0) + 1);
      const reply: Envelope | undefined = c.expect.corr === null ? undefined : map.get(c.expect.corr);
      if (c.expect.corr === null) {
        uncorrelated++;
        continue;
      }
      const body = reply?.body as unknown as ErrorBody | undefined;
      if (!reply || reply.type !== 'error' || body!.code !== c.expect.code || !body!.details.some((d) => c.expect.path.test(d.path))) {
        mismatches.push(
          `${c.label}: expected ${c.expect.code} at ${c.expect.path}, got ${reply ? JSON.stringify(reply.body).slice(0, 300) : 'no reply'}`,
        );
      }
    }
    // Uncorrelated replies (unreadable ids) must be exactly as many, each invalid_request.
    const nulls = rr.replies.filter((x) => x.corr === null);
    const newNulls = nulls.slice(nullsBefore);
    const expectedNulls = window.filter((c) => c.expect.corr === null);
    if (newNulls.length !== expectedNulls.length)
      mismatches.push(`window at ${sent}: ${newNulls.length} uncorrelated replies for ${expectedNulls.length} unreadable requests`);
    for (const x of newNulls) {
      const b = x.body as unknown as ErrorBody;
      if (x.type !== 'error' || b.code !== 'invalid_request' || b.details.length === 0)
        mismatches.push(`uncorrelated reply not a precise refusal: ${JSON.stringify(x.body).slice(0, 200)}`);
    }
    sent += window.length;
    rr.replies.splice(0);
    term.replies.splice(0);
  }
  const seconds = (Date.now() - t0) / 1000;
  await s.role.idle();
  const mem = rss.stop();
  const heapAfter = await settledHeapMb();
  console.log(
    `[fuzz:envelope] ${sent} cases in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s), ${uncorrelated} uncorrelated; ` +
      `terminal served ${served} times; RSS ${mem.baseMb} → max ${mem.maxMb} MB, heap after GC ${heapBefore} → ${heapAfter} MB; ` +
      `kinds ${JSON.stringify(Object.fromEntries(labels))}`,
  );

  expect(mismatches.slice(0, 20)).toEqual([]);
  expect(sent).toBeGreaterThanOrEqual(Math.min(CASES, 500));
  expect(served).toBe(Math.ceil(sent / WINDOW));
  const after = Object.fromEntries(await Promise.all(stores.map(async (n) => [n, await countKeys(n)] as const)));
  // Only the terminal's answered verifications are remembered (dedupe of resends); nothing else changed.
  expect(after).toEqual({ ...before, [SUBLEVELS.seen]: before[SUBLEVELS.seen]! + served });
  expect(await countKeys(SUBLEVELS.requests)).toBe(0);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(heapAfter - heapBefore).toBeLessThan(64);
}, 180_000);
