// Key history of the audit log (鍵の履歴), derived from the chain itself: the checkpoints in seq order
// fall into epochs, one per signing certificate (kid). A change of kid is a handover when the last
// checkpoint of the outgoing epoch covers an `audit.keyHandover` entry naming exactly that pair —
// that checkpoint is signed by the outgoing key, and the incoming key's checkpoints cover the entry
// again. Epochs joined by handovers vouch for each other; trusting one trusts them all. Pure.

export const HANDOVER_ACTION = 'audit.keyHandover';

export interface SignedPoint {
  seq: number;
  kid: string;
}
export interface Handover {
  fromKid: string;
  toKid: string;
}

export interface KeyEpoch {
  kid: string;
  /** First and last checkpoint this key signed in the epoch. */
  fromSeq: number;
  toSeq: number;
  /** Seq of the handover entry that brought this key in (absent: first key, or a change without handover). */
  handedOverAt?: number;
  /** Accepted: not pinned, or pinned to this key or to a key joined to it by handovers. */
  trusted: boolean;
}

/**
 * `points`: checkpoints whose signature verified with their stored certificate, in seq order.
 * `handoverAt(seq)`: the handover entry at `seq`, already checked against the checkpoint's hash.
 * `accepts`: the pin (undefined: not pinned, everything is trusted as before key history existed).
 */
export function keyEpochs(
  points: readonly SignedPoint[],
  handoverAt: (seq: number) => Handover | undefined,
  accepts?: (kid: string) => boolean,
): KeyEpoch[] {
  const epochs: KeyEpoch[] = [];
  for (const p of points) {
    const last = epochs.at(-1);
    if (last && last.kid === p.kid) {
      last.toSeq = p.seq;
      continue;
    }
    const next: KeyEpoch = { kid: p.kid, fromSeq: p.seq, toSeq: p.seq, trusted: accepts === undefined };
    const h = last ? handoverAt(last.toSeq) : undefined;
    if (last && h && h.fromKid === last.kid && h.toKid === p.kid) next.handedOverAt = last.toSeq;
    epochs.push(next);
  }
  if (accepts) {
    // Runs of epochs joined by handovers: one pinned key in a run makes the whole run trusted.
    let start = 0;
    for (let i = 1; i <= epochs.length; i++) {
      if (i < epochs.length && epochs[i]!.handedOverAt !== undefined) continue;
      const run = epochs.slice(start, i);
      if (run.some((e) => accepts(e.kid))) for (const e of run) e.trusted = true;
      start = i;
    }
  }
  return epochs;
}

/** Reads a handover out of an entry's event (null: not a completed handover). */
export function handoverOf(event: { action?: unknown; outcome?: unknown; detail?: Record<string, unknown> | undefined }): Handover | null {
  if (event.action !== HANDOVER_ACTION || event.outcome !== 'ok') return null;
  const { fromKid, toKid } = event.detail ?? {};
  return typeof fromKid === 'string' && typeof toKid === 'string' ? { fromKid, toKid } : null;
}
