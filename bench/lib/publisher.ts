// Benchmark publisher process: N QoS 1 messages of S bytes, the index in the first 4 bytes, with at
// most W unacknowledged. Prints one JSON line: { start, end, acked, cpuMs }.
import mqttPacket from 'mqtt-packet';
import { flag, intFlag, nowMs } from './args.js';
import { wireConnect } from './wire.js';

const argv = process.argv.slice(2);
const url = flag(argv, 'url');
const count = intFlag(argv, 'count', 100_000);
const size = intFlag(argv, 'size', 256);
const window = intFlag(argv, 'window', 1000);
const topic = flag(argv, 'topic') ?? 'bench/load';
if (!url) throw new Error('--url is required');
if (window >= 65_535) throw new Error('--window must be below 65535 (packet identifiers)');

const client = await wireConnect(url, `bench-pub-${process.pid}`, true);
const template = Buffer.alloc(size, 0x61);
let next = 0;
let inflight = 0;
let acked = 0;
let messageId = 0;
const cpu0 = process.cpuUsage();
const start = nowMs();

function pump(): void {
  while (inflight < window && next < count) {
    const payload = Buffer.from(template);
    payload.writeUInt32BE(next++, 0);
    messageId = messageId >= 65_535 ? 1 : messageId + 1;
    inflight++;
    client.sendRaw(mqttPacket.generate({ cmd: 'publish', qos: 1, messageId, topic, payload, retain: false, dup: false }));
  }
}

await new Promise<void>((resolve, reject) => {
  client.socket.once('close', () => reject(new Error(`connection closed after ${acked} PUBACKs`)));
  client.onPacket((p) => {
    if (p.cmd !== 'puback') return;
    inflight--;
    if (++acked === count) resolve();
    else pump();
  });
  pump();
});
const end = nowMs();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ start, end, acked, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
await client.close();
process.exit(0);
