// A loopback TCP relay in front of a server, to cut a client off without closing its connections:
// freeze() stops relaying in both directions (bytes wait in the buffers, as on a partitioned
// network), thaw() lets them through again.
import { createServer, connect, type Socket } from 'node:net';
import { freePort } from './ports.js';

export interface TcpProxy {
  url: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs: [Socket, Socket][] = [];
  let frozen = false;
  const server = createServer((inbound) => {
    const outbound = connect(target.port, target.host);
    pairs.push([inbound, outbound]);
    const pipe = (from: Socket, to: Socket) => {
      from.on('data', (d) => {
        if (!to.write(d)) from.pause();
      });
      to.on('drain', () => {
        if (!frozen) from.resume();
      });
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    };
    pipe(inbound, outbound);
    pipe(outbound, inbound);
    if (frozen) {
      inbound.pause();
      outbound.pause();
    }
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      for (const [a, b] of pairs) {
        a.pause();
        b.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const [a, b] of pairs) {
        a.resume();
        b.resume();
      }
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
