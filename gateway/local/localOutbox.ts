// Replies (res/{systemId}) and pushes (to/{systemId}/{type}) to local systems. They are written in
// the same atomic batch as the change that causes them, then handed to the broker (whose persistence
// queues them for offline clean:false clients). Delivery is at least once; receivers dedupe on `id`.
// Every reply is also kept (answers.ts) in the same batch, so a resent request can be answered again.
import type { Logger } from 'pino';
import type { Envelope } from '../../platform/envelope.js';
import { SUBLEVELS, seqKey, type Db } from '../../platform/store/db.js';
import type { Batch } from '../../platform/store/db.js';
import type { KeptAnswers } from './answers.js';

/** A unit of work, or an inbound upstream batch with its own commit hook (gateway/cs flows). */
export interface WriteScope {
  batch: Batch;
  afterCommit(hook: () => void): void;
}

export interface LocalDelivery {
  systemId: string;
  topic: string;
  envelope: Envelope<object>;
}

/** Publishes one QoS 1 message on the local broker; resolves once the broker has stored it. */
export type LocalPublish = (topic: string, payload: Buffer) => Promise<void>;

export interface LocalOutbox {
  /** A reply on res/{systemId}, kept for resends of the request it answers. */
  reply(uow: WriteScope, systemId: string, envelope: Envelope<object>): void;
  /**
   * A reply that is not kept: a kept reply sent again (its window runs from the first answer), or a
   * refusal of a request that was never taken (a resend is judged afresh).
   */
  replyNotKept(uow: WriteScope, systemId: string, envelope: Envelope<object>): void;
  push(uow: WriteScope, systemId: string, envelope: Envelope<object>): void;
  depth(): number;
  /** Resolves when everything committed so far has been handed to the broker. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

/** Replies handed to the broker together (one of its synced writes for all of them). */
const CHUNK = 256;

export async function createLocalOutbox(opts: {
  db: Db;
  publish: LocalPublish;
  logger: Logger;
  valueEncoding?: string | object;
  retryMs?: number;
  answers?: KeptAnswers;
}): Promise<LocalOutbox> {
  const sub = opts.db.sublevel<string, LocalDelivery>(SUBLEVELS.local, { valueEncoding: (opts.valueEncoding ?? 'json') as 'json' });
  let next = 0n;
  let count = 0;
  for await (const key of sub.keys()) {
    next = BigInt(key) + 1n;
    count++;
  }
  let running = false;
  let closed = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];

  function enqueue(uow: WriteScope, d: LocalDelivery): void {
    uow.batch.put(seqKey(next++), d, { sublevel: sub });
    uow.afterCommit(() => {
      count++;
      kick();
    });
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void pump().finally(() => {
      running = false;
      if (again && !closed) {
        again = false;
        kick();
      }
    });
  }

  async function pump(): Promise<void> {
    for (;;) {
      again = false;
      const chunk = await sub.iterator({ limit: CHUNK }).all();
      if (chunk.length === 0 || closed) break;
      // Handed to the broker all at once: its committer stores them in one synced write instead of
      // one per reply. aedes takes publishes in call order, so each system's replies keep theirs.
      const outcomes = await Promise.allSettled(chunk.map(([, d]) => opts.publish(d.topic, Buffer.from(JSON.stringify(d.envelope)))));
      // Only the leading run that the broker stored is removed: a refused reply (e.g. disk full, a
      // full offline queue) and everything after it stay and are tried again later, in order, never
      // dropped (those after it the broker did store go out twice: same id, receivers dedupe).
      const stored = outcomes.findIndex((r) => r.status === 'rejected');
      const done = stored === -1 ? chunk : chunk.slice(0, stored);
      if (done.length > 0) {
        // Not synced: the broker has the replies durably queued already; lost in a power cut, this
        // delete only makes them go out again (same id and corr), so it acknowledges nothing.
        try {
          await sub.batch(
            done.map(([key]) => ({ type: 'del' as const, key })),
            { sync: false },
          );
        } catch (e) {
          // Kept: they go out again after the retry (same id and corr; receivers dedupe).
          opts.logger.warn({ err: (e as Error).message }, 'delivered local replies could not be removed; will retry');
          clearTimeout(timer);
          timer = setTimeout(kick, opts.retryMs ?? 1000);
          return;
        }
        count -= done.length;
      }
      if (stored !== -1) {
        const err = (outcomes[stored] as PromiseRejectedResult).reason as Error;
        opts.logger.warn({ err: err.message, topic: chunk[stored]![1].topic }, 'local delivery failed; will retry');
        clearTimeout(timer);
        timer = setTimeout(kick, opts.retryMs ?? 1000);
        return;
      }
    }
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }

  kick();
  return {
    reply: (uow, systemId, envelope) => {
      opts.answers?.keep(uow.batch, systemId, envelope);
      enqueue(uow, { systemId, topic: `res/${systemId}`, envelope });
    },
    replyNotKept: (uow, systemId, envelope) => enqueue(uow, { systemId, topic: `res/${systemId}`, envelope }),
    push: (uow, systemId, envelope) => enqueue(uow, { systemId, topic: `to/${systemId}/${envelope.type}`, envelope }),
    depth: () => count,
    drained: () =>
      count === 0 && !running
        ? Promise.resolve()
        : new Promise<void>((r) => {
            waiters.push(r);
            kick();
          }),
    close: async () => {
      closed = true;
      clearTimeout(timer);
    },
  };
}
