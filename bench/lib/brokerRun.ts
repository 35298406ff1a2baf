// One run of bench:broker's measurement (also bench:uplink's durable-broker baseline): a publisher and
// a clean:false QoS 1 subscriber process against one broker process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, type BrokerKind } from './brokers.js';
import { cpuMsOf, freePort, start, stop } from './procs.js';

const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url));
const SUBSCRIBER = fileURLToPath(new URL('./subscriber.ts', import.meta.url));

export interface PubResult {
  start: number;
  end: number;
  acked: number;
  cpuMs: number;
}
export interface SubResult {
  first: number;
  last: number;
  received: number;
  lost: number;
  reordered: number;
  duplicated: number;
  heldBack: number;
  cpuMs: number;
}
export interface BrokerRow {
  kind: BrokerKind;
  msgsPerSec: number;
  ackPerSec: number;
  sub: SubResult;
  pub: PubResult;
  brokerCpu: number;
  brokerCpuMs: number;
  wallMs: number;
}

/** One publisher, one clean:false subscriber, `kind` in its own process: end-to-end msgs/s. */
export async function runBroker(
  kind: BrokerKind,
  o: { messages: number; size: number; window: number; extraArgs?: string[] },
): Promise<BrokerRow> {
  const { messages, size, window } = o;
  const dir = mkdtempSync(join(tmpdir(), `bench-broker-${kind}-`));
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const broker = await startBroker(kind, port, dir, o.extraArgs ?? []);
  try {
    const cpuBefore = cpuMsOf(broker.proc.pid!);
    const sub = start(process.execPath, [
      '--import',
      'tsx',
      SUBSCRIBER,
      '--url',
      url,
      '--count',
      String(messages),
      '--client-id',
      'bench-sub',
    ]);
    await sub.line(/^SUBSCRIBED/, 30_000);
    const pubProc = start(process.execPath, [
      '--import',
      'tsx',
      PUBLISHER,
      '--url',
      url,
      '--count',
      String(messages),
      '--size',
      String(size),
      '--window',
      String(window),
    ]);
    const limit = 30 * 60_000;
    const pub = JSON.parse(await pubProc.line(/^\{/, limit)) as PubResult;
    const brokerCpuMs = cpuMsOf(broker.proc.pid!) - cpuBefore;
    const res = JSON.parse(await sub.line(/^\{/, limit)) as SubResult;
    const wallMs = Math.max(res.last, pub.end) - pub.start;
    return {
      kind,
      msgsPerSec: res.last > pub.start ? (messages - res.lost - res.heldBack) / ((res.last - pub.start) / 1000) : 0,
      ackPerSec: messages / ((pub.end - pub.start) / 1000),
      sub: res,
      pub,
      brokerCpu: brokerCpuMs / wallMs,
      brokerCpuMs,
      wallMs,
    };
  } finally {
    await stop(broker);
    rmSync(dir, { recursive: true, force: true });
  }
}
