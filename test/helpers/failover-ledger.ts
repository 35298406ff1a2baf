// The pass criteria of a failover run, counted from what the register system and the prefecture saw:
// every acknowledged (PUBACKed) identity.update has its result reply and its identity.notify at the
// prefecture; a notify arrives twice only as a resend of the same envelope id; per person, the
// notifies arrive in the order the updates were sent, with rising 更新順番号 (updateSeq).
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import type { Envelope } from '../../platform/envelope.js';
import type { SimNode } from '../../sim/node.js';
import { addressOf, type SentUpdate } from './failover-load.js';
import { until } from './until.js';

export interface Ledger {
  sent: number;
  acknowledged: number;
  /** Acknowledged without a result reply, or without its notify at the prefecture. */
  lost: string[];
  /** Replies that are not identity.update.result (refusals). */
  refused: string[];
  /** Notifies of one update under different envelope ids (a resend must carry the same id). */
  duplicates: string[];
  /** Copies of a notify id beyond the first (resends the prefecture dropped). */
  resends: number;
  /** Persons whose notifies arrived out of the order sent, or with falling updateSeq. */
  orderViolations: string[];
  /** Messages the prefecture could not verify (signature, chain). */
  unverified: number;
}

export function ledger(sent: SentUpdate[], residents: IdentityChange[], pref: SimNode): Ledger {
  const notifies = pref.received.filter((e) => e.type === 'identity.notify');
  const record = (e: Envelope) => e.body.record as IdentityChange & { updateSeq?: number };
  const idsByUpdate = new Map<string, Set<string>>();
  for (const e of notifies) {
    const key = `${record(e).residentCode} ${record(e).address}`;
    idsByUpdate.set(key, (idsByUpdate.get(key) ?? new Set()).add(e.id));
  }
  const acked = sent.filter((u) => u.acked);
  const lost: string[] = [];
  const refused: string[] = [];
  for (const u of acked) {
    const r = residents[u.person]!;
    if (!u.replies.length) lost.push(`${u.id} (person ${u.person} update ${u.k}): no reply`);
    else if (u.replies.some((e) => e.type !== 'identity.update.result'))
      refused.push(`${u.id}: ${JSON.stringify(u.replies[0]!.body).slice(0, 300)}`);
    if (!idsByUpdate.has(`${r.residentCode} ${addressOf(r, u.k)}`)) {
      // The reply names the notify's envelope id: did the prefecture see that id at all? A refusal names none: its code and message say why.
      const reply = u.replies[0];
      const messageId = (reply?.body as { messageId?: string } | undefined)?.messageId;
      const seen =
        messageId !== undefined
          ? `notify ${messageId} arrived ${pref.copies.get(messageId) ?? 0} times`
          : reply
            ? `the reply was ${reply.type} ${JSON.stringify(reply.body).slice(0, 200)}`
            : 'no reply';
      lost.push(`${u.id} (person ${u.person} update ${u.k}): no identity.notify upstream (${seen})`);
    }
  }
  const duplicates = [...idsByUpdate].filter(([, ids]) => ids.size > 1).map(([key, ids]) => `${key}: ${ids.size} envelope ids`);
  const orderViolations: string[] = [];
  residents.forEach((r, i) => {
    const mine = notifies.map(record).filter((x) => x.residentCode === r.residentCode);
    const ks = mine.map((x) => Number(x.address.slice(r.address.length + 1)));
    const seqs = mine.map((x) => x.updateSeq ?? 0);
    const rising = (xs: number[]) => xs.every((x, j) => j === 0 || x > xs[j - 1]!);
    if (!rising(ks) || !rising(seqs))
      orderViolations.push(`person ${i} (${r.residentCode}): updates ${ks.join(',')}, updateSeq ${seqs.join(',')}`);
  });
  const resends = notifies.reduce((n, e) => n + (pref.copies.get(e.id) ?? 1) - 1, 0);
  return {
    sent: sent.length,
    acknowledged: acked.length,
    lost,
    refused,
    duplicates,
    resends,
    orderViolations,
    unverified: pref.refused.length,
  };
}

/**
 * The ledger once the upstream has caught up: a reply goes out when the update is committed, its notify
 * when the outbox gets to it, so the last notifies trail the last replies. Waits up to `timeoutMs` for
 * every acknowledged update's notify; what is still missing then is counted as lost.
 */
export async function settledLedger(sent: SentUpdate[], residents: IdentityChange[], pref: SimNode, timeoutMs = 120_000): Promise<Ledger> {
  await until(() => ledger(sent, residents, pref).lost.length === 0, timeoutMs, 'every notify upstream').catch(() => undefined);
  return ledger(sent, residents, pref);
}
