// Broker limits that aedes has no option for: payload size, connection count, offline-queue bound
// (refuse rather than drop: MQTT 3.1.1 has no negative PUBACK, so a refusal is a disconnect without
// PUBACK and the publisher retries later), and free disk space. An oversized local request is the
// exception: it is answered with an error reply instead (broker/oversize.ts).
import { statfs } from 'node:fs/promises';
import type { LimitsConfig } from '../config/schema/broker.js';

export interface Alarm {
  kind: 'offline-queue' | 'disk-space' | 'storage' | 'pre-auth';
  state: 'raised' | 'cleared';
  /** Client ID for a queue alarm; the path for disk space; `address …` or `all addresses` for pre-auth. */
  subject: string;
  message: string;
  at: string;
}
export type AlarmSink = (a: Omit<Alarm, 'at'>) => void;

export type LimitDecision = { ok: true } | { ok: false; reason: string };
const ok: LimitDecision = { ok: true };

export function checkPayloadSize(payloadBytes: number, limits: Pick<LimitsConfig, 'maxPayloadBytes'>): LimitDecision {
  return payloadBytes > limits.maxPayloadBytes
    ? { ok: false, reason: `payload of ${payloadBytes} bytes exceeds maxPayloadBytes ${limits.maxPayloadBytes}` }
    : ok;
}

/** Subscriber of a QoS>0 publish with a persistent session, as aedes persistence reports it. */
export interface QueuedSubscriber {
  clientId: string;
  topic: string;
  qos: number;
}

/**
 * Offline-queue bound per persistent session. A publish that would push any matching subscriber's
 * queue over maxOfflineQueue is refused; crossing offlineQueueAlarmRatio raises an alarm once,
 * cleared when the queue drains below the ratio again.
 */
export class OfflineQueueGuard {
  private readonly alarmed = new Set<string>();
  constructor(
    private readonly limits: Pick<LimitsConfig, 'maxOfflineQueue' | 'offlineQueueAlarmRatio'>,
    private readonly subscribersOf: (topic: string) => Promise<QueuedSubscriber[]>,
    private readonly depthOf: (clientId: string) => Promise<number>,
    private readonly alarm: AlarmSink,
  ) {}

  private get alarmAt(): number {
    return Math.max(1, Math.floor(this.limits.maxOfflineQueue * this.limits.offlineQueueAlarmRatio));
  }

  async admit(topic: string, qos: number): Promise<LimitDecision> {
    if (qos === 0) return ok;
    let subs = await this.subscribersOf(topic);
    // aedes does not queue $-topics for leading-wildcard subscriptions (MQTT-4.7.2-1).
    if (topic.startsWith('$')) subs = subs.filter((s) => !s.topic.startsWith('+') && !s.topic.startsWith('#'));
    const ids = new Set(subs.filter((s) => s.qos > 0).map((s) => s.clientId));
    for (const id of ids) {
      const next = (await this.depthOf(id)) + 1;
      if (next > this.limits.maxOfflineQueue) {
        this.raise(id, next - 1);
        return { ok: false, reason: `offline queue of ${id} is full (${next - 1}/${this.limits.maxOfflineQueue})` };
      }
      if (next >= this.alarmAt) this.raise(id, next);
    }
    return ok;
  }

  private raise(id: string, depth: number): void {
    if (this.alarmed.has(id)) return;
    this.alarmed.add(id);
    this.alarm({
      kind: 'offline-queue',
      state: 'raised',
      subject: id,
      message: `offline queue of ${id} at ${depth}/${this.limits.maxOfflineQueue}`,
    });
  }

  /** Clears alarms of queues that drained below the alarm ratio. */
  async sweep(): Promise<void> {
    for (const id of [...this.alarmed]) {
      const depth = await this.depthOf(id);
      if (depth < this.alarmAt) {
        this.alarmed.delete(id);
        this.alarm({
          kind: 'offline-queue',
          state: 'cleared',
          subject: id,
          message: `offline queue of ${id} back to ${depth}/${this.limits.maxOfflineQueue}`,
        });
      }
    }
  }
}

/** Free space of the data directory, sampled periodically (a statfs per publish would be too costly). */
export class DiskGuard {
  private low = false;
  private timer: NodeJS.Timeout | undefined;
  lastFreeBytes: number | undefined;
  constructor(
    private readonly path: string,
    private minFreeBytes: number,
    private readonly alarm: AlarmSink,
  ) {}

  /** Live configuration change (limits.minFreeDiskBytes). */
  setMinFreeBytes(n: number): void {
    this.minFreeBytes = n;
  }

  async sample(): Promise<number> {
    const s = await statfs(this.path);
    const free = Number(s.bavail) * Number(s.bsize);
    this.lastFreeBytes = free;
    const low = free < this.minFreeBytes;
    if (low !== this.low) {
      this.low = low;
      this.alarm({
        kind: 'disk-space',
        state: low ? 'raised' : 'cleared',
        subject: this.path,
        message: `${free} bytes free (minimum ${this.minFreeBytes})`,
      });
    }
    return free;
  }

  start(everyMs = 5000): Promise<number> {
    this.timer = setInterval(() => {
      this.sample().catch(() => {
        /* readiness reports it */
      });
    }, everyMs);
    this.timer.unref();
    return this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  admit(): LimitDecision {
    return this.low ? { ok: false, reason: `free disk space below ${this.minFreeBytes} bytes` } : ok;
  }
}
