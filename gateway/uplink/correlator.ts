// Request/reply correlation on `corr`. A pending request ends in exactly one of: its reply, or a
// timeout. Replies that find nobody waiting are late (or unsolicited) and are dropped by the caller.
import { errorReply, type Envelope, type ErrorCode, type ErrorDetail } from '../../platform/envelope.js';
import { isMessageType } from '../messages/registry.js';

export class ReplyTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to ${id} within ${timeoutMs} ms`);
  }
}

interface Pending {
  resolve: (e: Envelope) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  startedAt: number;
}

export class Correlator {
  private readonly pending = new Map<string, Pending>();

  /** Waits for the reply whose `corr` is `id`. Register BEFORE publishing: a reply may beat the PUBACK. */
  expect(id: string, timeoutMs: number): Promise<Envelope> {
    return new Promise((resolve, reject) => {
      const previous = this.pending.get(id);
      if (previous) {
        clearTimeout(previous.timer);
        previous.reject(new Error(`superseded wait for ${id}`));
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ReplyTimeoutError(id, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer, startedAt: Date.now() });
    });
  }

  /** Hands a reply to its waiter; false when nobody waits (late or unsolicited). */
  resolve(reply: Envelope): boolean {
    if (reply.corr === null) return false;
    const p = this.pending.get(reply.corr);
    if (!p) return false;
    this.pending.delete(reply.corr);
    clearTimeout(p.timer);
    p.resolve(reply);
    return true;
  }

  cancel(id: string, error: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(error);
  }

  get size(): number {
    return this.pending.size;
  }

  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`uplink closed while waiting for ${id}`));
    }
    this.pending.clear();
  }
}

/** Replies and errors are delivered on PUBACK; everything else waits for the receiver's reply. */
export function isReply(envelope: Pick<Envelope, 'type' | 'corr'>): boolean {
  // `consistency.result` (6-③) is a request type of the contract whose name ends in .result.
  return envelope.corr !== null || envelope.type === 'error' || (envelope.type.endsWith('.result') && !isMessageType(envelope.type));
}

/** `errorReply` typed as a plain envelope. */
export function errorEnvelope(
  request: Parameters<typeof errorReply>[0],
  from: string,
  code: ErrorCode,
  message: string,
  details: ErrorDetail[],
): Envelope {
  return errorReply(request, from, code, message, details);
}
