// Pending move-out certificates (転出証明書情報, seed 3-③ on the old side): the register system hands
// the certificate data over when a resident moves out; the CS holds it until the new municipality's
// CS asks for it, the move-in notice says it was used, or it expires (move-in within 30 days of the
// planned move date, DOMAIN.md). Sublevel `moveout`:
//   c!{lgCode}!{certificateId}         → held certificate (personal data: encrypted encoding when given)
// Held certificates are few (weeks of move-outs), so look-ups by 住民票コード or 個人番号 scan them:
// no key names a person. (Earlier versions kept r!{lgCode}!{residentCode}!{certId} → ''; such an
// entry goes with its certificate, at use or expiry.)
import type { AbstractSublevel } from 'abstract-level';
import { isoDateInJapan } from '../../domain/dates.js';
import { SUBLEVELS, type Batch, type Db } from '../../platform/store/db.js';

export interface HeldCertificate {
  certificate: Record<string, unknown> & {
    certificateId: string;
    residentCode: string;
    oldLgCode: string;
    plannedMoveDate: string;
    myNumber?: string;
  };
  expiresOn: string;
  storedAt: number;
}

type Sub = AbstractSublevel<Db, string | Uint8Array, string, HeldCertificate | ''>;

/** Days a certificate stays valid after its planned move date when the register gives no expiry. */
export const DEFAULT_VALID_DAYS_AFTER_PLANNED_MOVE = 30;

export function defaultExpiry(plannedMoveDate: string): string {
  const d = new Date(`${plannedMoveDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + DEFAULT_VALID_DAYS_AFTER_PLANNED_MOVE);
  return d.toISOString().slice(0, 10);
}

export class MoveOutCertificates {
  readonly sublevel: Sub;

  constructor(db: Db, valueEncoding?: string | object) {
    this.sublevel = db.sublevel<string, HeldCertificate | ''>(SUBLEVELS.moveout, { valueEncoding: (valueEncoding ?? 'json') as 'json' });
  }

  hold(batch: Batch, held: HeldCertificate): void {
    const c = held.certificate;
    batch.put<string, HeldCertificate | ''>(`c!${c.oldLgCode}!${c.certificateId}`, held, { sublevel: this.sublevel });
  }

  release(batch: Batch, held: HeldCertificate): void {
    const c = held.certificate;
    batch.del(`c!${c.oldLgCode}!${c.certificateId}`, { sublevel: this.sublevel });
    batch.del(`r!${c.oldLgCode}!${c.residentCode}!${c.certificateId}`, { sublevel: this.sublevel });
  }

  async get(lgCode: string, certificateId: string): Promise<HeldCertificate | undefined> {
    const v = await this.sublevel.get(`c!${lgCode}!${certificateId}`);
    return v ? v : undefined;
  }

  /** The newest unexpired certificate of a person held for `lgCode`, by 住民票コード or 個人番号. */
  async find(
    lgCode: string,
    key: { residentCode?: string; myNumber?: string },
    today = isoDateInJapan(Date.now()),
  ): Promise<HeldCertificate | undefined> {
    const found: HeldCertificate[] = [];
    if (key.residentCode || key.myNumber) {
      const p = `c!${lgCode}!`;
      for await (const v of this.sublevel.values({ gt: p, lt: p + '~' })) {
        if (!v) continue;
        if (key.residentCode ? v.certificate.residentCode === key.residentCode : v.certificate.myNumber === key.myNumber) found.push(v);
      }
    }
    return found.filter((h) => h.expiresOn >= today).sort((a, b) => b.storedAt - a.storedAt)[0];
  }

  /** Discards expired certificates; returns how many. */
  async purgeExpired(today = isoDateInJapan(Date.now())): Promise<number> {
    // why: the sublevel's parent is typed as any AbstractLevel; it is the appliance Db, whose batch is a Batch.
    const b = this.sublevel.db.batch() as unknown as Batch;
    let n = 0;
    for await (const v of this.sublevel.values({ gt: 'c!', lt: 'c!~' })) {
      if (v && v.expiresOn < today) {
        this.release(b, v);
        n++;
      }
    }
    await b.write();
    return n;
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.sublevel.keys({ gt: 'c!', lt: 'c!~' })) n++;
    return n;
  }
}
