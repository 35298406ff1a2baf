// Uplink metrics on the appliance's prom-client registry (injected, so tests and the broker share one).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LinkStatus } from './link.js';

export interface UplinkMetrics {
  sends: Counter<'link'>;
  failures: Counter<'link' | 'reason'>;
  retries: Counter<'link'>;
  rtt: Histogram<'link' | 'type'>;
  inboxRefused: Counter<'reason'>;
  lateReplies: Counter<'link'>;
}

export function createUplinkMetrics(
  registry: Registry,
  sources: {
    queueStats: () => Record<string, { depth: number; oldestAgeMs: number; dead: number }>;
    linkStatus: () => LinkStatus[];
  },
): UplinkMetrics {
  const registers = [registry];
  new Gauge({
    name: 'jukigw_uplink_queue_depth',
    help: 'Messages waiting in the outbox per link',
    labelNames: ['link'],
    registers,
    collect() {
      for (const [link, s] of Object.entries(sources.queueStats())) this.set({ link }, s.depth);
    },
  });
  new Gauge({
    name: 'jukigw_uplink_oldest_message_age_seconds',
    help: 'Age of the oldest queued message per link',
    labelNames: ['link'],
    registers,
    collect() {
      for (const [link, s] of Object.entries(sources.queueStats())) this.set({ link }, s.oldestAgeMs / 1000);
    },
  });
  new Gauge({
    name: 'jukigw_uplink_dead_letters',
    help: 'Messages in the dead-letter queue per link',
    labelNames: ['link'],
    registers,
    collect() {
      for (const [link, s] of Object.entries(sources.queueStats())) this.set({ link }, s.dead);
    },
  });
  new Gauge({
    name: 'jukigw_uplink_link_up',
    help: '1 when the link to the upstream broker is connected',
    labelNames: ['link'],
    registers,
    collect() {
      for (const l of sources.linkStatus()) this.set({ link: l.name }, l.state === 'up' ? 1 : 0);
    },
  });
  return {
    sends: new Counter({
      name: 'jukigw_uplink_sends_total',
      help: 'Signed messages published upstream (PUBACK received)',
      labelNames: ['link'],
      registers,
    }),
    failures: new Counter({
      name: 'jukigw_uplink_failures_total',
      help: 'Failed send attempts by reason',
      labelNames: ['link', 'reason'],
      registers,
    }),
    retries: new Counter({ name: 'jukigw_uplink_retries_total', help: 'Send attempts that were retries', labelNames: ['link'], registers }),
    rtt: new Histogram({
      name: 'jukigw_uplink_round_trip_seconds',
      help: 'Send to receiver reply',
      labelNames: ['link', 'type'],
      registers,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    inboxRefused: new Counter({
      name: 'jukigw_uplink_inbox_refused_total',
      help: 'Upstream messages refused by the inbox',
      labelNames: ['reason'],
      registers,
    }),
    lateReplies: new Counter({
      name: 'jukigw_uplink_late_replies_total',
      help: 'Replies that arrived after their request timed out (dropped)',
      labelNames: ['link'],
      registers,
    }),
  };
}
