// Attributes a V8 CPU profile (.cpuprofile, from --profile) to the stages of a message's way through
// the appliance, so that the next bottleneck is named by measurement. A sample counts for the stage of
// the deepest frame on its stack that names one (rules below, first match per frame); code of the
// simulated upstream and of the benchmark's own clients is counted apart, as is idle time and GC.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const STAGES = [
  'parse',
  'validate',
  'store',
  'seal',
  'audit',
  'sign',
  'send',
  'broker',
  'flow',
  'simulators and clients',
  'gc',
  'idle',
  'other',
] as const;
export type Stage = (typeof STAGES)[number];

// Ordered: the first rule that matches a frame gives its stage.
const RULES: Array<[Stage, (url: string, fn: string) => boolean]> = [
  ['simulators and clients', (u) => /\/(sim|bench|test)\//.test(u) && !u.includes('node_modules')],
  ['gc', (u, fn) => u === '' && fn === '(garbage collector)'],
  ['idle', (u, fn) => u === '' && (fn === '(idle)' || fn === '(program)')],
  ['parse', (u, fn) => (u === '' && fn === 'parse') || u.includes('/platform/envelope.')],
  ['validate', (u) => u.includes('/node_modules/zod/') || u.includes('/gateway/messages/') || u.includes('identityStoreValidation')],
  ['seal', (u) => u.includes('/gateway/crypto/')],
  ['audit', (u) => u.includes('/gateway/audit/')],
  ['sign', (u) => u.includes('/hsm/') || u.includes('pkcs11js')],
  [
    'store',
    (u) =>
      /\/(platform\/store|gateway\/cs\/identityStore|node_modules\/(classic-level|abstract-level|level-transcoder|module-error))/.test(u),
  ],
  ['send', (u) => /\/(gateway\/uplink|node_modules\/(mqtt|mqtt-packet|bl|readable-stream))\//.test(u)],
  ['broker', (u) => /\/(broker|node_modules\/(aedes[^/]*))\//.test(u)],
  ['flow', (u) => /\/(gateway|appliance|domain)\//.test(u)],
];

function classify(url: string, fn: string): Stage | undefined {
  for (const [stage, test] of RULES) if (test(url, fn)) return stage;
  return undefined;
}

/** Milliseconds of CPU per stage in the profile. */
export function stageTimes(path: string): Map<Stage, number> {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const stageOf = new Map<number, Stage>();
  // Top-down: a frame without a stage of its own (a builtin, a library) takes its caller's; once in
  // the simulators' or clients' code, everything below stays theirs.
  const walk = (id: number, inherited: Stage) => {
    const n = byId.get(id)!;
    const own = inherited === 'simulators and clients' ? undefined : classify(n.callFrame.url, n.callFrame.functionName);
    const stage = own ?? inherited;
    stageOf.set(id, stage);
    for (const c of n.children ?? []) walk(c, stage);
  };
  walk(p.nodes[0]!.id, 'other');
  const out = new Map<Stage, number>(STAGES.map((s) => [s, 0]));
  for (const [i, id] of p.samples.entries()) {
    const s = stageOf.get(id) ?? 'other';
    out.set(s, out.get(s)! + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return out;
}
