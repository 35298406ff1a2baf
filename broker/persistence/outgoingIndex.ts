// In-memory index of one client's outgoing queue (the entries themselves are on disk, keyed
// {client}!{seq}): which seqs are queued, and how aedes names them — by broker counter when it
// updates a packet, by messageId when the client acknowledges it.

/** A broker counter of this broker, or `${brokerId}:${brokerCounter}` of another. */
export type BrokerKey = number | string;

export interface OutMeta {
  /** Known at enqueue, or when streamed after a restart. */
  brokerKey?: BrokerKey;
  messageId?: number;
  /** The packet as last updated by aedes (returned on PUBACK without a disk read). */
  packet?: Record<string, any>;
  /** No put of it went to a batch yet (a held fan-out): acknowledging it deletes nothing. */
  unwritten?: boolean;
}

export class ClientQueue {
  readonly entries = new Map<number, OutMeta>();
  readonly byCounter = new Map<BrokerKey, number>();
  /** messageId → seq, or seqs when a messageId is reused while an older entry still has it. */
  readonly byMessageId = new Map<number, number | number[]>();

  /** The entry is gone (acknowledged, or the session cleaned). */
  drop(seq: number): void {
    const meta = this.entries.get(seq);
    if (!meta) return;
    this.entries.delete(seq);
    if (meta.brokerKey !== undefined && this.byCounter.get(meta.brokerKey) === seq) this.byCounter.delete(meta.brokerKey);
    if (meta.messageId !== undefined) this.dropMessageId(seq, meta.messageId);
  }

  setBrokerKey(seq: number, meta: OutMeta, brokerKey: BrokerKey | undefined): void {
    if (meta.brokerKey === brokerKey) return;
    if (meta.brokerKey !== undefined && this.byCounter.get(meta.brokerKey) === seq) this.byCounter.delete(meta.brokerKey);
    meta.brokerKey = brokerKey;
    if (brokerKey !== undefined) this.byCounter.set(brokerKey, seq);
  }

  setMessageId(seq: number, meta: OutMeta, messageId: number | undefined): void {
    if (meta.messageId === messageId) return;
    if (meta.messageId !== undefined) this.dropMessageId(seq, meta.messageId);
    meta.messageId = messageId;
    if (messageId !== undefined) this.indexMessageId(seq, messageId);
  }

  indexMessageId(seq: number, messageId: number): void {
    // one seq per messageId is the rule: no array allocated per message for it
    const cur = this.byMessageId.get(messageId);
    if (cur === undefined) this.byMessageId.set(messageId, seq);
    else if (typeof cur === 'number') this.byMessageId.set(messageId, [cur, seq]);
    else cur.push(seq);
  }

  dropMessageId(seq: number, messageId: number): void {
    const cur = this.byMessageId.get(messageId);
    if (cur === undefined) return;
    if (typeof cur === 'number') {
      if (cur === seq) this.byMessageId.delete(messageId);
      return;
    }
    const i = cur.indexOf(seq);
    if (i >= 0) cur.splice(i, 1);
    if (cur.length === 0) this.byMessageId.delete(messageId);
    else if (cur.length === 1) this.byMessageId.set(messageId, cur[0]!);
  }

  /** Oldest entry carrying this messageId (as the reference in-memory persistence does). */
  firstByMessageId(messageId: number): number | undefined {
    const cur = this.byMessageId.get(messageId);
    if (cur === undefined || typeof cur === 'number') return cur;
    if (cur.length === 0) return undefined;
    let min = cur[0]!;
    for (const s of cur) if (s < min) min = s;
    return min;
  }
}

/**
 * How aedes names a queued packet: by its broker counter alone when this broker published it (no
 * string built per message), by `${brokerId}:${brokerCounter}` otherwise (e.g. stored by an earlier
 * process). A number and a string never collide as Map keys.
 */
export function brokerKeyOf(p: Record<string, any>, ownBrokerId: unknown): BrokerKey | undefined {
  if (p.brokerId === undefined || p.brokerCounter === undefined) return undefined;
  return p.brokerId === ownBrokerId && typeof p.brokerCounter === 'number' ? p.brokerCounter : `${p.brokerId}:${p.brokerCounter}`;
}
