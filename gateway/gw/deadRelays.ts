// A durable relay (addressee.update 1-③, copy.update 3-③) is answered `{accepted: true}` once it is
// queued. If the outbox later gives up on it (attempt limit without a `.result`, or an upstream
// rejection) the update is not known to have arrived, and its caller must hear so: the GW sends it
// an `error` (upstream_unavailable, corr = its request id) on res/{systemId} and audits it, in one
// batch. The caller of each relay still queued is kept in `gw-relays`, written with the queue entry,
// so this survives restarts.
import { errorReply } from '../../platform/envelope.js';
import type { CsFlowDeps } from '../cs/flows/shared.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Batch } from '../../platform/store/db.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import type { DeadEntry } from '../uplink/index.js';

export const RELAYS_SUBLEVEL = 'gw-relays';
export const DURABLE_RELAYS = new Set(['addressee.update', 'copy.update']);

export interface RelayCaller {
  systemId: string;
  requestId: string;
  type: string;
  /** Keyed hash of the 宛名番号 (the audit key). */
  addresseeKey: string;
  /** Outbox sequence number of the queued relay. */
  seq: number;
  at: number;
}

export interface RelayCallers {
  /** Adds the caller of a relay to the batch that queues it. */
  remember(batch: Batch, upstreamId: string, caller: RelayCaller): void;
  /** Answers and audits the caller of a dead-lettered relay; false when the entry is not a GW relay. */
  deadLettered(entry: DeadEntry): Promise<boolean>;
  /**
   * Forgets callers of relays no longer queued (delivered) and answers those whose relay is in the
   * dead-letter queue (the appliance stopped between the dead-lettering and the answer). At start and daily.
   */
  reconcile(): Promise<{ delivered: number; dead: number }>;
}

export function createRelayCallers(flow: CsFlowDeps, selfAddress: () => string, logger: Logger): RelayCallers {
  const sub = flow.db.sublevel<string, RelayCaller>(RELAYS_SUBLEVEL, { valueEncoding: 'json' });
  const outbox = flow.uplink.outbox;

  // The outbox's event and reconcile() may meet on the same entry: one at a time, each re-reading the caller.
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const p = turn.then(f, f);
    turn = p.catch(() => undefined);
    return p;
  };

  const deadLettered = (entry: DeadEntry, onlyIfKnown = false): Promise<boolean> =>
    serially(async () => {
      const { envelope } = entry;
      if (!DURABLE_RELAYS.has(envelope.type)) return false;
      const caller = await sub.get(envelope.id);
      if (!caller && onlyIfKnown) return false;
      const uow = new UnitOfWork(flow.db);
      const detail = `relay ${envelope.id} dead-lettered (seq ${entry.seq}): ${entry.reason}`.slice(0, 512);
      if (caller) {
        uow.batch.del(envelope.id, { sublevel: sub });
        // Not acknowledged is not proof of non-delivery: the receiver may still get it (it dedupes by id).
        flow.localOutbox.reply(
          uow,
          caller.systemId,
          errorReply(
            { id: caller.requestId, from: caller.systemId },
            selfAddress(),
            'upstream_unavailable',
            `the accepted ${caller.type} was not acknowledged by ${envelope.to} (${entry.reason}); it is in the dead-letter queue (seq ${entry.seq}): the operator may send it again, or send a new request`,
            [{ path: '(upstream)', problem: `relay.deadLettered: ${envelope.to} did not acknowledge (${entry.reason.slice(0, 200)})` }],
          ),
        );
        await flow.audit.record(uow, {
          actor: { kind: 'system', id: caller.systemId },
          action: caller.type,
          outcome: 'error',
          code: 'upstream_unavailable',
          keys: [caller.addresseeKey],
          detail,
        });
      } else {
        // Its caller was already answered (an operator's retry of a dead letter that failed again).
        await flow.audit.record(uow, {
          actor: { kind: 'appliance', id: 'gw' },
          action: envelope.type,
          outcome: 'error',
          code: 'upstream_unavailable',
          detail,
        });
      }
      await uow.commit();
      logger.error(
        { id: envelope.id, type: envelope.type, seq: entry.seq, answered: caller?.systemId ?? null },
        'gw: durable relay dead-lettered',
      );
      return true;
    });

  return {
    remember(batch, upstreamId, caller) {
      batch.put(upstreamId, caller, { sublevel: sub });
    },
    deadLettered: (entry) => deadLettered(entry),
    async reconcile() {
      let delivered = 0;
      let dead = 0;
      for await (const [id, caller] of sub.iterator()) {
        // Queue → dead-letter queue is one atomic move, so checking in this order cannot miss it.
        if (await outbox.show(caller.seq)) continue;
        const d = (await outbox.show(caller.seq, { dead: true })) as DeadEntry | undefined;
        if (d && d.envelope.id === id) {
          if (await deadLettered(d, true)) dead++;
          continue;
        }
        await sub.del(id);
        delivered++;
      }
      return { delivered, dead };
    },
  };
}
