// Loopback admin HTTP: /healthz (the process lives), /readyz (every check passes), /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { isLoopback } from '../../config/schema/common.js';
import type { ReadinessCheck } from './checks.js';

export interface AdminHandle {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

export async function startAdminServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  checks: ReadinessCheck[];
}): Promise<AdminHandle> {
  if (!isLoopback(opts.host)) throw new Error(`admin server: allowed only on loopback, not ${opts.host}`);
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      Promise.all(
        opts.checks.map(async (c) => {
          try {
            return { name: c.name, ...(await c.run()) };
          } catch (e) {
            return { name: c.name, ok: false, detail: (e as Error).message };
          }
        }),
      ).then(
        (results) => {
          const failing = results.filter((r) => !r.ok);
          send(failing.length ? 503 : 200, 'application/json', JSON.stringify({ ready: failing.length === 0, checks: results }) + '\n');
        },
        (e: Error) => send(500, 'text/plain', `${e.message}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (e: Error) => send(500, 'text/plain', `${e.message}\n`),
      );
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`admin server: cannot listen on ${opts.host}:${opts.port}: ${e.code ?? e.message}`)),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    address() {
      const a = server.address();
      return a && typeof a === 'object' ? { host: a.address, port: a.port } : { host: opts.host, port: opts.port };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
