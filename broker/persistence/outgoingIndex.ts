// In-memory index of one client's outgoing queue (the entries themselves are on disk, keyed
// {client}!{seq}): which seqs are queued, and how aedes names them — by broker counter when it
// updates a packet, by messageId when the client acknowledges it.

export interface OutMeta {
  /** `${brokerId}:${brokerCounter}` once known (at enqueue, or when streamed after a restart). */
  brokerKey?: string;
  messageId?: number;
  /** The packet as last updated by aedes (returned on PUBACK without a disk read). */
  packet?: Record<string, any>;
}

export class ClientQueue {
  readonly entries = new Map<number, OutMeta>();
  readonly byCounter = new Map<string, number>();
  readonly byMessageId = new Map<number, number[]>();

  /** The entry is gone (acknowledged, or the session cleaned). */
  drop(seq: number): void {
    const meta = this.entries.get(seq);
    if (!meta) return;
    this.entries.delete(seq);
    if (meta.brokerKey !== undefined && this.byCounter.get(meta.brokerKey) === seq) this.byCounter.delete(meta.brokerKey);
    if (meta.messageId !== undefined) this.dropMessageId(seq, meta.messageId);
  }

  setBrokerKey(seq: number, meta: OutMeta, brokerKey: string | undefined): void {
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
    const list = this.byMessageId.get(messageId);
    if (list) list.push(seq);
    else this.byMessageId.set(messageId, [seq]);
  }

  dropMessageId(seq: number, messageId: number): void {
    const list = this.byMessageId.get(messageId);
    if (!list) return;
    const i = list.indexOf(seq);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byMessageId.delete(messageId);
  }

  /** Oldest entry carrying this messageId (as the reference in-memory persistence does). */
  firstByMessageId(messageId: number): number | undefined {
    const list = this.byMessageId.get(messageId);
    if (!list || list.length === 0) return undefined;
    let min = list[0]!;
    for (const s of list) if (s < min) min = s;
    return min;
  }
}

