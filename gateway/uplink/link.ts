// One MQTT client per upstream broker. Persistent session (clean: false) so the upstream queues what is
// addressed to us while we are away; our own reconnect loop with backoff and jitter instead of mqtt.js's
// fixed period. Incoming messages are acknowledged (PUBACK) only after the handler has made them durable.
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../../platform/log/logger.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export type LinkState = 'connecting' | 'up' | 'down' | 'closed';

export interface LinkStatus {
  name: string;
  url: string;
  state: LinkState;
  since: string;
  lastError?: string;
  reconnectAttempts: number;
  subscriptions: string[];
}

export interface LinkOptions {
  name: string;
  url: string;
  clientId: string;
  tls?: { cert: string; key: string; ca: string };
  subscriptions: string[];
  backoff: BackoffPolicy;
  logger: Logger;
  /** Must resolve only once the message is durable (or deliberately refused): PUBACK follows it. */
  onMessage: (topic: string, payload: Buffer) => Promise<void>;
  onState?: (status: LinkStatus) => void;
  connectTimeoutMs?: number;
}

export class PublishTimeoutError extends Error {}

export class UpstreamLink {
  private client?: MqttClient;
  private state: LinkState = 'connecting';
  private since = new Date();
  private lastError?: string;
  private attempts = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: LinkOptions) {}

  start(): void {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      keepalive: 30,
      resubscribe: false,
    };
    if (o.tls)
      Object.assign(options, {
        cert: readFileSync(o.tls.cert),
        key: readFileSync(o.tls.key),
        ca: readFileSync(o.tls.ca),
        rejectUnauthorized: true,
      });
    const client = connect(o.url, options);
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      o.onMessage(packet.topic, payload).then(
        () => done(),
        (e: Error) => {
          // Not durable → no PUBACK; the session redelivers it after reconnect.
          o.logger.error({ link: o.name, err: e.message }, 'uplink: inbound message not stored; dropping connection to get it redelivered');
          client.stream.destroy();
        },
      );
    };
    client.on('connect', () => {
      this.attempts = 0;
      // Small request/reply packets: with Nagle's algorithm each waits for the peer's delayed ACK
      // (~40 ms per hop, measured in bench:uplink), so the uplink sends at once.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      // Always (re)subscribe: idempotent, and the served codes may have changed since the session began.
      client.subscribeAsync(o.subscriptions, { qos: 1 }).then(
        () => this.setState('up'),
        (e: Error) => {
          this.lastError = `subscribe: ${e.message}`;
          client.stream.destroy();
        },
      );
    });
    client.on('error', (e) => {
      this.lastError = e.message;
    });
    client.on('close', () => {
      if (this.closed) return;
      this.setState('down');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    this.attempts++;
    const delay = backoffDelay(this.opts.backoff, this.attempts);
    this.opts.logger.warn(
      { link: this.opts.name, attempt: this.attempts, delayMs: delay, err: this.lastError },
      'uplink: link down, reconnecting',
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || !this.client) return;
      this.setState('connecting');
      this.client.reconnect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private setState(state: LinkState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = new Date();
    const level = state === 'up' ? 'info' : 'warn';
    this.opts.logger[level]({ link: this.opts.name, state, err: state === 'up' ? undefined : this.lastError }, `uplink: link ${state}`);
    this.opts.onState?.(this.status());
  }

  get isUp(): boolean {
    return this.state === 'up';
  }
  get name(): string {
    return this.opts.name;
  }

  /** QoS 1 publish; resolves on PUBACK, rejects after `timeoutMs` (the message may still arrive: receivers dedupe). */
  publish(topic: string, payload: string | Buffer, timeoutMs: number): Promise<void> {
    const client = this.client;
    if (!client || !this.isUp) return Promise.reject(new Error(`link ${this.opts.name} is ${this.state}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new PublishTimeoutError(`no PUBACK from ${this.opts.name} within ${timeoutMs} ms`)), timeoutMs);
      client.publish(topic, payload, { qos: 1 }, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  status(): LinkStatus {
    return {
      name: this.opts.name,
      url: redactUrl(this.opts.url),
      state: this.state,
      since: this.since.toISOString(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      reconnectAttempts: this.attempts,
      subscriptions: this.opts.subscriptions,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.state = 'closed';
    await this.client?.endAsync(true).catch(() => undefined);
  }
}

/** URLs may carry credentials (user:pass@): never show them. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//[redacted]@');
}
