// The resident-register system under failover: one persistent session (client id rr-01, both nodes
// listed, the standby's refusal moves it on), a bounded load of identity.update with unique ids, each
// person's updates one after the other (update k+1 is sent once update k is answered), so the order
// the prefecture must see per person is the order sent. The driver can hold the load (`pause`) while
// it restarts a node, so the load spans every failover event.
import mqtt from 'mqtt';
import { isoDateInJapan } from '../../domain/dates.js';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { PASSWORD, REGISTER } from './failover-nodes.js';

/** Update k (from 1) of a person: its address with a running suffix (what the prefecture's copy must end with). */
export const addressOf = (r: IdentityChange, k: number): string => `${r.address}の${k}`;

export interface SentUpdate {
  id: string;
  person: number;
  k: number;
  /** PUBACK received: the appliance has taken it (acknowledged). */
  acked: boolean;
  replies: Envelope[];
}

export interface RegisterLoad {
  sent: SentUpdate[];
  acked(): number;
  /** Resolves when every person has had all its updates answered. */
  done: Promise<void>;
  pause(): void;
  resume(): void;
  /** Resolves with the first reply (and its node's port) that arrives after now. */
  nextReply(): Promise<{ port: number; at: number }>;
  close(): Promise<void>;
}

export function startRegisterLoad(o: { ports: number[]; residents: IdentityChange[]; updates: number; pauseMs: number }): RegisterLoad {
  const client = mqtt.connect({
    protocol: 'mqtt',
    host: '127.0.0.1',
    port: o.ports[0],
    servers: o.ports.map((port) => ({ host: '127.0.0.1', port, protocol: 'mqtt' as const })),
    clientId: REGISTER,
    username: REGISTER,
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 200,
    connectTimeout: 5000,
    // A frozen node keeps the TCP connection open: only the keepalive tells the client to move on.
    keepalive: 2,
    reconnectOnConnackError: true,
  });
  client.on('error', () => {
    /* a standby's "server unavailable" or a dead node: mqtt.js moves to the next server */
  });
  let port = 0;
  client.on('connect', () => {
    port = (client.stream as { remotePort?: number }).remotePort ?? 0;
    // A persistent session keeps the subscription; subscribing again is harmless.
    client.subscribe(`res/${REGISTER}`, { qos: 1 });
  });
  const sent: SentUpdate[] = [];
  const byId = new Map<string, SentUpdate>();
  const waiting = new Map<string, () => void>();
  const replyWatchers: ((r: { port: number; at: number }) => void)[] = [];
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    const u = e.corr === null ? undefined : byId.get(e.corr);
    if (!u) return;
    u.replies.push(e);
    if (u.replies.length > 1) return;
    const at = performance.now();
    for (const w of replyWatchers.splice(0)) w({ port, at });
    waiting.get(u.id)?.();
  });
  let gate: Promise<void> = Promise.resolve();
  let open: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const today = isoDateInJapan(Date.now());
  const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const person = async (i: number) => {
    const r = o.residents[i]!;
    for (let k = 1; k <= o.updates; k++) {
      await gate;
      const record =
        k === 1
          ? { ...r, address: addressOf(r, k), status: 'current' }
          : { ...r, address: addressOf(r, k), changeReason: 'correct', changeDate: today, status: 'current' };
      const u: SentUpdate = { id: uuidv7(), person: i, k, acked: false, replies: [] };
      sent.push(u);
      byId.set(u.id, u);
      const answered = new Promise<void>((resolve) => waiting.set(u.id, resolve));
      // Resolves on PUBACK; mqtt.js resends an unacknowledged publish on the next connection (same id).
      await client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id: u.id, type: 'identity.update', body: { record } }), {
        qos: 1,
      });
      u.acked = true;
      await answered;
      await new Promise((res) => setTimeout(res, o.pauseMs));
    }
  };
  const done = connected.then(async () => {
    await new Promise((r) => setTimeout(r, 200)); // the subscription is in place before the first request
    await Promise.all(o.residents.map((_, i) => person(i)));
  });
  return {
    sent,
    acked: () => sent.filter((u) => u.acked).length,
    done,
    pause() {
      if (!open) gate = new Promise((resolve) => (open = resolve));
    },
    resume() {
      open?.();
      open = undefined;
    },
    nextReply: () => new Promise((resolve) => replyWatchers.push(resolve)),
    close: () => (closing ??= client.endAsync(true)),
  };
}
