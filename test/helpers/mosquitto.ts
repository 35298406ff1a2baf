// Real Mosquitto (Debian package) as the upstream broker in tests: generated config, free loopback
// port, stop/restart for outage tests, killed on cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  port?: number;
  /** PEM file paths: server cert/key and the CA that client certificates must chain to. */
  tls?: { cert: string; key: string; ca: string; requireClientCert?: boolean };
}

export interface Mosquitto {
  port: number;
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not accept connections on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = tempDir('mosq-');
  const port = options.port ?? (await freePort());
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 1000000',
    'max_inflight_messages 0',
    'log_dest none',
    // Request/reply traffic of small packets: without it each hop waits for a delayed ACK (~40 ms).
    'set_tcp_nodelay true',
  ];
  // Started as root, mosquitto drops to the 'mosquitto' user, which cannot read our 0700 temp dirs.
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.tls) {
    lines.push(
      `certfile ${options.tls.cert}`,
      `keyfile ${options.tls.key}`,
      `cafile ${options.tls.ca}`,
      `require_certificate ${options.tls.requireClientCert ? 'true' : 'false'}`,
      'tls_version tlsv1.2',
    );
  }
  const conf = join(dir.path, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) return;
    const c = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('exit', () => {
      if (child === c) child = undefined;
    });
    child = c;
    try {
      await waitForPort(port);
    } catch (e) {
      c.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${stderr}`);
    }
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    start,
    stop,
    async close() {
      await stop();
      dir.cleanup();
    },
  };
}
