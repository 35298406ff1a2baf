// A lean MQTT 3.1.1 client over a raw socket for the benchmark: mqtt.js spends more CPU per
// message than the brokers under test, and the clients must not be the bottleneck.
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export type Incoming = mqttPacket.Packet;

export interface WireClient {
  socket: Socket;
  send(packet: mqttPacket.Packet): void;
  sendRaw(buf: Buffer): void;
  /** Resolves with the next packet of this command. */
  next(cmd: string, timeoutMs?: number): Promise<Incoming>;
  onPacket(handler: (p: Incoming) => void): void;
  close(): Promise<void>;
}

export function parseUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'mqtt:') throw new Error(`only mqtt:// URLs are supported, got ${url}`);
  return { host: u.hostname, port: Number(u.port || 1883) };
}

/** `handler` is set before CONNECT: a stored queue can arrive in the same read as the CONNACK. */
export async function wireConnect(
  url: string,
  clientId: string,
  clean: boolean,
  handler?: (p: Incoming, c: WireClient) => void,
): Promise<WireClient> {
  const { host, port } = parseUrl(url);
  const socket = netConnect(port, host);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let onPacket: ((p: Incoming) => void) | undefined;
  const waiters: Array<{ cmd: string; resolve: (p: Incoming) => void }> = [];
  parser.on('packet', (p: Incoming) => {
    const i = waiters.findIndex((w) => w.cmd === p.cmd);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(p);
    else onPacket?.(p);
  });
  parser.on('error', (e: Error) => socket.destroy(e));
  socket.on('data', (d: Buffer) => {
    socket.cork();
    parser.parse(d);
    process.nextTick(() => socket.uncork());
  });
  const client: WireClient = {
    socket,
    send: (packet) => {
      socket.write(mqttPacket.generate(packet));
    },
    sendRaw: (buf) => {
      socket.write(buf);
    },
    next: (cmd, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${cmd} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          cmd,
          resolve: (p) => {
            clearTimeout(t);
            resolve(p);
          },
        });
      }),
    onPacket: (h) => {
      onPacket = h;
    },
    close: () =>
      new Promise((resolve) => {
        if (socket.destroyed) return resolve();
        socket.end(mqttPacket.generate({ cmd: 'disconnect' }), () => resolve());
        socket.once('close', () => resolve());
      }),
  };
  if (handler) onPacket = (p) => handler(p, client);
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, clientId, keepalive: 0 });
  const connack = (await client.next('connack', 10_000)) as mqttPacket.IConnackPacket;
  if (connack.returnCode !== 0) throw new Error(`CONNACK refused: ${connack.returnCode}`);
  return client;
}

/** PUBACK for messageId, without going through the generator. */
export function pubackBytes(messageId: number): Buffer {
  return Buffer.from([0x40, 0x02, messageId >> 8, messageId & 0xff]);
}
