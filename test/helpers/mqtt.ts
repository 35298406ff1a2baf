// MQTT test helpers over real sockets (the `mqtt` client, raw TCP for malformed input).
import { connect as netConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient, type IPublishPacket } from 'mqtt';

const base: IClientOptions = { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 };

/** Connected client, or rejection with the CONNACK code / transport error. */
export function connectClient(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { ...base, ...opts });
    const fail = (e: unknown) => {
      c.end(true);
      reject(e);
    };
    c.once('connect', () => {
      c.off('error', fail);
      resolve(c);
    });
    c.once('error', fail);
    c.once('close', () => fail(new Error('closed before CONNACK')));
  });
}

/** How a connection attempt was refused: the CONNACK return code, or 'closed' (TLS/transport). */
export async function refusal(url: string, opts: IClientOptions = {}): Promise<number | 'closed' | 'connected'> {
  try {
    const c = await connectClient(url, opts);
    await endClient(c);
    return 'connected';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'number' ? code : 'closed';
  }
}

export function endClient(c: MqttClient, force = false): Promise<void> {
  return new Promise((resolve) => c.end(force, {}, () => resolve()));
}

/** SUBACK return codes in request order (128 = refused); mqtt.js rejects on any 0x80, so unwrap. */
export async function subackCodes(c: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  try {
    const granted = await c.subscribeAsync(filters);
    return granted.map((g) => g.qos);
  } catch (e) {
    const packet = (e as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw e;
    return packet.granted;
  }
}

export async function subscribeGranted(c: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<number> {
  return (await subackCodes(c, { [filter]: { qos } }))[0]!;
}

/** Collects messages; `next(n)` waits for n of them. */
export function collect(c: MqttClient) {
  const got: IPublishPacket[] = [];
  const waiters: Array<() => void> = [];
  c.on('message', (_t, _p, packet) => {
    got.push(packet);
    for (const w of waiters.splice(0)) w();
  });
  return {
    got,
    async next(n: number, timeoutMs = 5000): Promise<IPublishPacket[]> {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${got.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return got.slice(0, n);
    },
  };
}

/** Resolves when the client's connection closes (e.g. the broker disconnected it). */
export function closed(c: MqttClient, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!c.connected) return resolve();
    const t = setTimeout(() => reject(new Error('connection stayed open')), timeoutMs);
    c.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw TCP socket (for malformed packets); `ended` resolves when the broker closes it. */
export function rawSocket(port: number, host = '127.0.0.1'): Promise<{ socket: Socket; data: Buffer[]; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, host);
    const data: Buffer[] = [];
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d) => data.push(d));
    socket.on('error', () => {
      /* close follows */
    });
    socket.once('connect', () => resolve({ socket, data, ended }));
    socket.once('error', reject);
  });
}

/** An MQTT 3.1.1 CONNECT packet (clean session, no credentials unless given). */
export function connectPacket(clientId: string, username?: string, password?: string, keepalive = 60): Buffer {
  const str = (s: string | Buffer) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
  };
  const flags = 0x02 | (username !== undefined ? 0x80 : 0) | (password !== undefined ? 0x40 : 0);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags, keepalive >> 8, keepalive & 255]),
    str(clientId),
    ...(username !== undefined ? [str(username)] : []),
    ...(password !== undefined ? [str(password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/** A QoS 0 PUBLISH whose topic bytes are given raw (to send ill-formed UTF-8). */
export function publishPacketRawTopic(topic: Buffer, payload: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 255]), topic, payload]);
  return Buffer.concat([Buffer.from([0x30]), varint(body.length), body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
