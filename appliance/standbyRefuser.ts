// The standby's MQTT listeners (待機系): on the configured addresses, every CONNECT is answered
// "server unavailable" (MQTT 3.1.1 return code 3, MQTT 5 reason 0x88) and the connection closed, so a
// client that lists both nodes (mqtt.js `servers`) moves on to the active one at once instead of
// waiting for a timeout. Nothing is read beyond the CONNECT and nothing is stored: the standby's
// broker state would be stale, and the active node alone accepts clients.
import type { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { ApplianceConfig } from '../config/schema/index.js';
import { startListener, type RunningListener } from '../broker/listeners.js';
import type { Logger } from '../platform/log/logger.js';

/** A CONNECT is small; a peer that sends more before it is refused is cut off. */
const MAX_CONNECT_BYTES = 64 * 1024;
/** A peer that sends no CONNECT within this is cut off (the standby holds no idle sockets). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Refusals are logged as one line per listener and window (a client retrying in a loop is one burst). */
const LOG_WINDOW_MS = 10_000;

export interface StandbyRefuser {
  close(): Promise<void>;
}

function refuse(conn: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const parser = mqttPacket.parser();
    let seen = 0;
    const done = (answered: boolean) => {
      conn.removeAllListeners('data');
      resolve(answered);
    };
    parser.on('packet', (p) => {
      if (p.cmd !== 'connect') {
        conn.destroy();
        return done(false);
      }
      const v5 = p.protocolVersion === 5;
      const connack = mqttPacket.generate(
        v5 ? { cmd: 'connack', reasonCode: 0x88, sessionPresent: false } : { cmd: 'connack', returnCode: 3, sessionPresent: false },
        v5 ? { protocolVersion: 5 } : undefined,
      );
      conn.end(connack);
      done(true);
    });
    parser.on('error', () => {
      conn.destroy();
      done(false);
    });
    conn.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > MAX_CONNECT_BYTES) {
        conn.destroy();
        return done(false);
      }
      parser.parse(chunk);
    });
    conn.setTimeout(CONNECT_TIMEOUT_MS, () => {
      conn.destroy();
      done(false);
    });
    conn.on('error', () => done(false));
    conn.on('close', () => done(false));
  });
}

export async function startStandbyRefuser(config: ApplianceConfig, logger: Logger): Promise<StandbyRefuser> {
  const log = logger.child({ component: 'standby' });
  const window = new Map<string, { count: number; since: number }>();
  const note = (listener: string) => {
    const now = Date.now();
    const w = window.get(listener);
    if (w && now - w.since < LOG_WINDOW_MS) {
      w.count++;
      return;
    }
    if (w && w.count > 0) log.info({ listener, refused: w.count }, 'standby: further CONNECTs refused with "server unavailable"');
    window.set(listener, { count: 0, since: now });
    log.info({ listener }, 'standby: CONNECT refused with "server unavailable" (this node is not the active node)');
  };
  const listeners: RunningListener[] = [];
  try {
    for (const l of config.listeners) {
      listeners.push(
        await startListener(l, {
          maxSockets: config.limits.maxConnections,
          opened: () => {},
          accept: (conn, info) => {
            void refuse(conn).then((answered) => {
              if (answered) note(info.name);
            });
          },
          refused: (info, reason, remote) => log.info({ listener: info.name, reason, remote }, 'standby: connection refused before MQTT'),
        }),
      );
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }
  return {
    close: async () => {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
