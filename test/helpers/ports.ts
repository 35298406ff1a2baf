import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// A port handed out by the kernel for listen(0) comes from the ephemeral range, which outgoing client
// sockets use too: under load (the pre-auth test opens thousands of sockets) one of them can take the
// port between our check and the listener's bind (EADDRINUSE). So ports are drawn from below that range.
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
})();
const LOW = Math.max(10_000, Math.min(20_000, EPHEMERAL_LOW - 4_000));
const HIGH = EPHEMERAL_LOW - 1;

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A free loopback TCP port outside the ephemeral range (bound once to check, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (await bindable(port, host)) return port;
  }
  throw new Error(`no free port found in ${LOW}..${HIGH} on ${host}`);
}
