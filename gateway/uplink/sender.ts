// Drains one link's share of the outbox: signs at send time (never sends unsigned), publishes QoS 1,
// and for anything but a reply waits for the receiver's acknowledgement (`{type}.result` or `error`
// with corr = id) before the message counts as delivered.
import type { Logger } from '../../platform/log/logger.js';
import type { Signer } from '../../hsm/types.js';
import type { ErrorCode } from '../../platform/envelope.js';
import type { Correlator } from './correlator.js';
import { isReply, ReplyTimeoutError } from './correlator.js';
import type { UpstreamLink } from './link.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { upstreamTopic } from './routing.js';
import type { UplinkMetrics } from './metrics.js';

/** Rejections that resending the same bytes cannot cure: dead-letter at once. */
const PERMANENT: ReadonlySet<string> = new Set<ErrorCode>(['invalid_request', 'unauthorized', 'forbidden', 'not_found', 'conflict']);

export interface SenderOptions {
  link: UpstreamLink;
  outbox: Outbox;
  signer: Signer;
  correlator: Correlator;
  parallelism: number;
  ackTimeoutMs: (type: string) => number;
  logger: Logger;
  metrics?: UplinkMetrics;
}

export class LinkSender {
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;
  private stopped = false;
  private readonly onWork = (link: string) => {
    if (link === this.o.link.name) this.kick();
  };

  constructor(private readonly o: SenderOptions) {
    o.outbox.on('work', this.onWork);
  }

  /** Coalesces wake-ups: one pump per tick however many entries became ready. */
  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const { link, outbox, parallelism } = this.o;
    if (!link.isUp || this.stopped) return;
    const free = parallelism - this.inFlight;
    if (free <= 0) return;
    const seqs = outbox.takeReady(link.name, free);
    if (seqs.length === 0) return;
    // The entries of one pump in one read: a read per message, one after the other, was the uplink's
    // ceiling with a deep outbox.
    const loaded = outbox.loadMany(seqs);
    for (const [i, seq] of seqs.entries()) {
      this.inFlight++;
      const p: Promise<void> = loaded
        .then((entries) => this.send(seq, entries[i]))
        .catch((e: Error) => {
          this.o.logger.error({ link: link.name, seq, err: e.message }, 'uplink: outbox store error');
          outbox.release(seq);
        })
        .finally(() => {
          this.inFlight--;
          this.running.delete(p);
          this.kick();
        });
      this.running.add(p);
    }
  }

  private async send(seq: number, entry: OutboxEntry | undefined): Promise<void> {
    const { link, outbox, signer, correlator, logger, metrics } = this.o;
    if (!entry) {
      outbox.release(seq);
      return;
    }
    const env = entry.envelope;
    const log = { link: link.name, seq, id: env.id, type: env.type, to: env.to, attempt: entry.attempts + 1 };
    if (!link.isUp) {
      outbox.release(seq);
      return;
    }
    if (entry.attempts > 0) metrics?.retries.inc({ link: link.name });
    let jws;
    try {
      jws = await signer.signEnvelope(env);
    } catch (e) {
      // The token is down: keep the message, retry later, never send it unsigned. Not the message's fault.
      metrics?.failures.inc({ link: link.name, reason: 'signing' });
      logger.warn({ ...log, err: (e as Error).message }, 'uplink: signing failed, message stays queued');
      await outbox.failed(seq, `signing: ${(e as Error).message}`, { countAttempt: false });
      return;
    }
    const timeoutMs = this.o.ackTimeoutMs(env.type);
    const wantsAck = !isReply(env);
    const ack = wantsAck ? correlator.expect(env.id, timeoutMs) : undefined;
    ack?.catch(() => undefined);
    const started = performance.now();
    try {
      await link.publish(upstreamTopic(env.to, env.type), JSON.stringify(jws), timeoutMs);
      metrics?.sends.inc({ link: link.name });
      if (ack) {
        const reply = await ack;
        metrics?.rtt.observe({ link: link.name, type: env.type }, (performance.now() - started) / 1000);
        if (reply.type === 'error') {
          const code = String((reply.body as { code?: unknown }).code ?? 'internal');
          metrics?.failures.inc({ link: link.name, reason: 'rejected' });
          const verdict = await outbox.failed(
            seq,
            `${code}: ${String((reply.body as { message?: unknown }).message ?? '')}`.slice(0, 300),
            { permanent: PERMANENT.has(code) },
          );
          logger.warn({ ...log, code, verdict }, 'uplink: receiver rejected the message');
          return;
        }
      }
      await outbox.delivered(seq);
    } catch (e) {
      if (wantsAck) correlator.cancel(env.id, e as Error);
      // Shutting down is not the message's fault: it stays queued as it was and goes out after restart.
      if (this.stopped) {
        outbox.release(seq);
        return;
      }
      const reason = e instanceof ReplyTimeoutError ? 'ack_timeout' : 'publish';
      metrics?.failures.inc({ link: link.name, reason });
      const verdict = await outbox.failed(seq, `${reason}: ${(e as Error).message}`);
      logger.warn({ ...log, reason, verdict, err: (e as Error).message }, 'uplink: send failed');
    }
  }

  stop(): void {
    this.stopped = true;
    this.o.outbox.off('work', this.onWork);
  }

  /** Resolves when the sends in flight have recorded their outcome (before the DB closes). */
  async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
