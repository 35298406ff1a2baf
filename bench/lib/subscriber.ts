// Benchmark subscriber process: one clean:false session on `topic`, QoS 1. Prints "SUBSCRIBED",
// then receives until it has `count` distinct messages or nothing came for `idle` ms. Messages
// still missing then are looked for by one reconnect (held back in the broker's queue).
// Prints one JSON line: { first, last, received, lost, reordered, duplicated, heldBack, cpuMs }.
import type mqttPacket from 'mqtt-packet';
import { flag, intFlag, nowMs } from './args.js';
import { pubackBytes, wireConnect, type WireClient } from './wire.js';

const argv = process.argv.slice(2);
const url = flag(argv, 'url');
const count = intFlag(argv, 'count', 100_000);
const idle = intFlag(argv, 'idle', 5000);
const topic = flag(argv, 'topic') ?? 'bench/#';
const clientId = flag(argv, 'client-id') ?? `bench-sub-${process.pid}`;
if (!url) throw new Error('--url is required');

const seen = new Uint8Array(count);
let distinct = 0;
let received = 0;
let duplicated = 0;
let reordered = 0;
let max = -1;
let first = 0;
let last = 0;
let heldBack = 0;
let phase: 'live' | 'recovery' = 'live';

function onPacket(p: mqttPacket.Packet, c: WireClient): void {
  if (p.cmd !== 'publish') return;
  const pub = p;
  if (pub.qos > 0 && pub.messageId !== undefined) c.sendRaw(pubackBytes(pub.messageId));
  const payload = pub.payload as Buffer;
  const i = payload.readUInt32BE(0);
  const t = nowMs();
  if (received++ === 0) first = t;
  if (i >= count) return;
  if (seen[i]) duplicated++;
  else {
    seen[i] = 1;
    distinct++;
    if (phase === 'live') last = t;
    else heldBack++;
  }
  if (i < max) reordered++;
  else max = i;
}

async function settle(): Promise<void> {
  let lastCount = -1;
  let lastChange = Date.now();
  while (distinct < count) {
    await new Promise((r) => setTimeout(r, 100));
    if (received !== lastCount) {
      lastCount = received;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > idle) {
      return;
    }
  }
}

const live = await wireConnect(url, clientId, false, onPacket);
live.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
await live.next('suback');
const cpu0 = process.cpuUsage();
process.stdout.write('SUBSCRIBED\n');
await settle();
await live.close();
if (distinct < count) {
  phase = 'recovery';
  max = -1; // a redelivered queue starts a new ordered sequence
  const again = await wireConnect(url, clientId, false, onPacket);
  await settle();
  await again.close();
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({ first, last, received, lost: count - distinct, reordered, duplicated, heldBack, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
);
process.exit(0);
