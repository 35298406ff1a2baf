// Broker metrics on an injected prom-client Registry (several components share one /metrics).
import { Counter, Gauge, type Registry } from 'prom-client';

export type DenialReason =
  | 'tls'
  | 'pre-auth'
  | 'auth'
  | 'auth-throttled'
  | 'not-authorized'
  | 'client-id'
  | 'max-connections'
  | 'listener'
  | 'acl-publish'
  | 'acl-will'
  | 'acl-subscribe'
  | 'payload-too-large'
  | 'malformed'
  | 'queue-full'
  | 'storage'
  | 'slow-consumer';

export interface BrokerMetrics {
  denial(reason: DenialReason): void;
  messageIn(): void;
  messageOut(): void;
  alarm(kind: string): void;
  /** Sampled at scrape time. */
  setSamplers(s: { connections: () => number; queueDepths: () => Promise<Map<string, number>> }): void;
}

const NAMES = [
  'jukigw_denials_total',
  'jukigw_broker_messages_in_total',
  'jukigw_broker_messages_out_total',
  'jukigw_broker_alarms_total',
  'jukigw_broker_connections',
  'jukigw_broker_queue_depth',
];

export function createBrokerMetrics(registry: Registry): BrokerMetrics {
  // A broker restarted in the same process (tests, a future config reload) takes its metrics over.
  for (const n of NAMES) registry.removeSingleMetric(n);
  let samplers: { connections: () => number; queueDepths: () => Promise<Map<string, number>> } | undefined;
  const denials = new Counter({
    name: 'jukigw_denials_total',
    help: 'Refused connections, subscriptions and publishes by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const msgsIn = new Counter({
    name: 'jukigw_broker_messages_in_total',
    help: 'PUBLISH packets accepted from clients',
    registers: [registry],
  });
  const msgsOut = new Counter({
    name: 'jukigw_broker_messages_out_total',
    help: 'Messages handed to subscribers for delivery',
    registers: [registry],
  });
  const alarms = new Counter({
    name: 'jukigw_broker_alarms_total',
    help: 'Alarms raised by the broker',
    labelNames: ['kind'],
    registers: [registry],
  });
  new Gauge({
    name: 'jukigw_broker_connections',
    help: 'Connected MQTT clients',
    registers: [registry],
    collect() {
      this.set(samplers?.connections() ?? 0);
    },
  });
  new Gauge({
    name: 'jukigw_broker_queue_depth',
    help: 'Messages queued for a persistent session (offline queue)',
    labelNames: ['client_id'],
    registers: [registry],
    async collect() {
      this.reset();
      if (!samplers) return;
      for (const [id, depth] of await samplers.queueDepths()) this.set({ client_id: id }, depth);
    },
  });
  return {
    denial: (reason) => denials.inc({ reason }),
    messageIn: () => msgsIn.inc(),
    messageOut: () => msgsOut.inc(),
    alarm: (kind) => alarms.inc({ kind }),
    setSamplers: (s) => {
      samplers = s;
    },
  };
}
