// "Test connection" for an upstream link: a separate clean-session MQTT connection with the link's
// own TLS material and a probe client id (never the link's id: that would take over its session).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions } from 'mqtt';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { UplinkService } from '../services.js';

export function uplinkProbe(config: () => ApplianceConfig, timeoutMs = 5000): UplinkService {
  return {
    async testConnection(name) {
      const up = config().upstreams.find((u) => u.name === name);
      const started = Date.now();
      if (!up) return { ok: false, detail: `no upstream link named ${name}`, elapsedMs: 0 };
      const options: IClientOptions = {
        clientId: `${up.clientId ?? 'juki-gw'}-probe-${randomBytes(3).toString('hex')}`,
        clean: true,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: timeoutMs,
      };
      try {
        if (up.tls)
          Object.assign(options, {
            cert: readFileSync(up.tls.cert),
            key: readFileSync(up.tls.key),
            ca: readFileSync(up.tls.ca),
            rejectUnauthorized: true,
          });
      } catch (e) {
        return { ok: false, detail: `TLS material unreadable: ${(e as Error).message}`, elapsedMs: 0 };
      }
      return new Promise((resolve) => {
        const client = mqtt.connect(up.url, options);
        let done = false;
        const finish = (ok: boolean, detail: string) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          client.end(true);
          resolve({ ok, detail, elapsedMs: Date.now() - started });
        };
        const timer = setTimeout(() => finish(false, `no CONNACK within ${timeoutMs} ms`), timeoutMs + 500);
        client.once('connect', () =>
          finish(true, `connected to ${up.url} (CONNACK accepted${up.tls ? ', TLS with client certificate' : ''})`),
        );
        client.once('error', (e) => finish(false, e.message));
        client.once('close', () => finish(false, 'connection closed before CONNACK'));
      });
    },
  };
}
