// Simulator framework: one upstream node (prefecture, national, card, ims, nws, another municipality's
// CS) on a real MQTT broker. It subscribes to `to/{self}/#`, verifies every message (signature, chain,
// replay window), deduplicates on `id` (a duplicate gets the remembered answer again), dispatches per
// type to a handler, and signs what it sends with its own key.
import { connect, type MqttClient } from 'mqtt';
import { nowIso, uuidv7, type Envelope, type ErrorCode, type ErrorDetail } from '../platform/envelope.js';
import type { Logger } from '../platform/log/logger.js';
import type { Signer, VerifyResult } from '../hsm/types.js';
import { bodySchemaOf, validateBody } from '../gateway/messages/index.js';

/** An `error` reply of a simulated node; `details` name the field at fault, as the contract asks. */
export class SimError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

export interface SimContext {
  node: string;
  /** Sends a new message (not a reply) and returns it. */
  send(to: string, type: string, body: Record<string, unknown>, corr?: string | null): Promise<Envelope>;
  /** Sends a request and waits for the reply (relays: ims → nws → back). */
  request(to: string, type: string, body: Record<string, unknown>, timeoutMs?: number): Promise<Envelope>;
}

/** Returns the reply body (sent as `{type}.result`), or throws SimError for an `error` reply. */
export type SimHandler = (env: Envelope, ctx: SimContext) => Promise<Record<string, unknown> | void>;

export interface SimNodeOptions {
  node: string;
  brokerUrl: string;
  tls?: { cert: Buffer | string; key: Buffer | string; ca: Buffer | string };
  signer: Signer;
  verifier: { verify(jws: unknown, o?: { now?: number; dedupe?: boolean }): Promise<VerifyResult> };
  handlers: Record<string, SimHandler>;
  logger: Logger;
}

export class SimNode implements SimContext {
  private client?: MqttClient;
  private readonly answered = new Map<string, Envelope | null>();
  private intake: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<string, (e: Envelope) => void>();
  /** Every verified message addressed to us and processed, first copy only, in arrival order (tests read this). */
  readonly received: Envelope[] = [];
  /** Messages this node answered with an `error` (not processed). */
  readonly rejected: Envelope[] = [];
  /** Copies per id, duplicates included. */
  readonly copies = new Map<string, number>();
  readonly refused: { topic: string; code: string; message: string }[] = [];
  /** Benchmark hook: called at the first receipt of each message. */
  onReceived?: (env: Envelope) => void;
  /** Test hook: make this node reject chosen messages (poison message scenario); no details unless given. */
  rejectWhen?: (env: Envelope) => { code: ErrorCode; message: string; details?: ErrorDetail[] } | undefined;
  /** Test hook: change a result body before it is signed (an upstream that breaks the contract). */
  alterResult?: (env: Envelope, body: Record<string, unknown>) => Record<string, unknown>;

  constructor(private readonly o: SimNodeOptions) {}

  get node(): string {
    return this.o.node;
  }

  async start(): Promise<void> {
    const client = connect(this.o.brokerUrl, {
      clientId: `sim-${this.o.node.replace(':', '-')}`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 500,
      ...(this.o.tls ? { ...this.o.tls, rejectUnauthorized: true } : {}),
    });
    this.client = client;
    // mqtt.js handles incoming packets one at a time: a handler that awaited a PUBACK or a relayed reply
    // inside handleMessage would wait for a packet queued behind itself. So acknowledge at once
    // (a simulator needs no durability), take messages in order, and run handlers detached.
    client.handleMessage = (packet, done) => {
      done();
      const payload = Buffer.from(packet.payload as Buffer);
      this.intake = this.intake
        .then(() => this.onMessage(packet.topic, payload))
        .catch((e: Error) => {
          this.o.logger.error({ node: this.o.node, err: e.message }, 'sim: intake failed');
        });
    };
    // mqtt.js does not resubscribe a persistent (clean: false) session; a broker that lost it (restart
    // without persistence) would leave us deaf, so subscribe whenever the session is not present.
    let first = true;
    await new Promise<void>((resolve, reject) => {
      client.on('connect', (ack) => {
        // An upstream server answers small packets at once, as the appliance's uplink does (no Nagle).
        (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
        if (first || !ack.sessionPresent) {
          client.subscribeAsync(`to/${this.o.node}/#`, { qos: 1 }).then(() => {
            if (first) {
              first = false;
              resolve();
            }
          }, reject);
        }
      });
      client.once('error', (e) => {
        if (first) reject(e);
      });
    });
    this.o.logger.info({ node: this.o.node }, 'sim: node up (SIMULATED upstream)');
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const v = await this.o.verifier.verify(payload, { dedupe: false });
    if (!v.ok) {
      this.refused.push({ topic, code: v.code, message: v.message });
      this.o.logger.warn({ node: this.o.node, topic, code: v.code }, 'sim: refused');
      return;
    }
    const env = v.envelope;
    if (env.to !== this.o.node) {
      this.refused.push({ topic, code: 'misrouted', message: env.to });
      return;
    }
    this.copies.set(env.id, (this.copies.get(env.id) ?? 0) + 1);
    if (this.answered.has(env.id)) {
      const again = this.answered.get(env.id);
      if (again) void this.publishSigned(again).catch(() => undefined);
      return;
    }
    this.received.push(env);
    this.onReceived?.(env);
    if (env.corr !== null) {
      this.answered.set(env.id, null);
      this.waiting.get(env.corr)?.(env);
      this.waiting.delete(env.corr);
      return;
    }
    this.answered.set(env.id, null); // in progress: a duplicate now is dropped; later it gets the answer again
    void this.answer(env)
      .then(async (reply) => {
        if (reply.type === 'error') {
          // A refused message was not processed: forget it, so a later resend is judged afresh.
          this.answered.delete(env.id);
          this.received.splice(this.received.lastIndexOf(env), 1);
          this.rejected.push(env);
        } else this.answered.set(env.id, reply);
        await this.publishSigned(reply);
      })
      .catch((e: Error) => this.o.logger.error({ node: this.o.node, type: env.type, err: e.message }, 'sim: reply not sent'));
  }

  private async answer(env: Envelope): Promise<Envelope> {
    const base = { v: 1 as const, id: uuidv7(), from: this.o.node, to: env.from, at: nowIso(), corr: env.id };
    const fail = (code: ErrorCode, message: string, details: ErrorDetail[]): Envelope => ({
      ...base,
      type: 'error',
      body: { code, message, details },
    });
    const rejected = this.rejectWhen?.(env);
    if (rejected) return fail(rejected.code, rejected.message, rejected.details ?? []);
    const handler = this.o.handlers[env.type];
    if (!handler)
      return fail('invalid_request', `${this.o.node} does not handle ${env.type}`, [
        { path: 'type', problem: `type.unhandled: ${this.o.node} does not handle ${env.type}` },
      ]);
    // The contract's body schema (gateway/messages) is the judge of what the appliance sent.
    const checked = validateBody(env.type, env.body);
    if (!checked.ok) return { ...base, type: 'error', body: checked.error };
    try {
      const answered = (await handler({ ...env, body: checked.value as Record<string, unknown> }, this)) ?? { accepted: true };
      const body = this.alterResult ? this.alterResult(env, answered) : answered;
      const result = bodySchemaOf(`${env.type}.result`);
      const r = result?.safeParse(body);
      if (r && !r.success && !this.alterResult)
        this.o.logger.error(
          { node: this.o.node, type: env.type, issues: r.error.issues.length },
          'sim: BUG: our result does not match the contract schema',
        );
      return { ...base, type: `${env.type}.result`, body };
    } catch (e) {
      if (e instanceof SimError) return fail(e.code, e.message, e.details);
      this.o.logger.error({ node: this.o.node, type: env.type, err: (e as Error).message }, 'sim: handler failed');
      return fail('internal', 'simulator handler failed', [{ path: '(request)', problem: 'internal: the simulated handler failed' }]);
    }
  }

  private async publishSigned(env: Envelope): Promise<void> {
    const jws = await this.o.signer.signEnvelope(env);
    await this.client!.publishAsync(`to/${env.to}/${env.type}`, JSON.stringify(jws), { qos: 1 });
  }

  async send(to: string, type: string, body: Record<string, unknown>, corr: string | null = null): Promise<Envelope> {
    const env: Envelope = { v: 1, id: uuidv7(), type, from: this.o.node, to, at: nowIso(), corr, body };
    await this.publishSigned(env);
    return env;
  }

  async request(to: string, type: string, body: Record<string, unknown>, timeoutMs = 10_000): Promise<Envelope> {
    const env: Envelope = { v: 1, id: uuidv7(), type, from: this.o.node, to, at: nowIso(), corr: null, body };
    const reply = new Promise<Envelope>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(env.id);
        reject(
          new SimError('timeout', `${to} did not answer ${type}`, [
            { path: 'to', problem: `timeout: ${to} did not answer within ${timeoutMs} ms` },
          ]),
        );
      }, timeoutMs);
      this.waiting.set(env.id, (e) => {
        clearTimeout(t);
        resolve(e);
      });
    });
    await this.publishSigned(env);
    return reply;
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => undefined);
  }
}
