// Certificate path to configured trust anchors: issuer signatures, CA flags, validity, CRLs.
import { X509Certificate, createHash } from 'node:crypto';
import './reflect-polyfill.js';
import * as x509 from '@peculiar/x509';
import { pemBlocks } from './certs.js';
import type { VerifyFailureCode } from './types.js';

export type ChainFailure = { code: VerifyFailureCode; message: string };

const fp = (c: X509Certificate) => createHash('sha256').update(c.raw).digest('hex');
const MAX_DEPTH = 6;

export function parseCertificates(pem: string | string[] | undefined): X509Certificate[] {
  const texts = pem === undefined ? [] : Array.isArray(pem) ? pem : [pem];
  return texts.flatMap((t) => pemBlocks(t)).map((der) => new X509Certificate(der));
}

export class TrustStore {
  private readonly anchors: X509Certificate[];
  private readonly anchorPrints: Set<string>;
  private readonly crls: x509.X509Crl[];
  /** CRL index + issuer fingerprint → CRL signature verified. */
  private readonly crlSignatureOk = new Map<string, boolean>();

  constructor(anchorsPem: string | string[], crlPem?: string | string[]) {
    this.anchors = parseCertificates(anchorsPem);
    this.anchorPrints = new Set(this.anchors.map(fp));
    const crlTexts = crlPem === undefined ? [] : Array.isArray(crlPem) ? crlPem : [crlPem];
    this.crls = crlTexts
      .flatMap((t) => [...pemBlocks(t, 'X509 CRL'), ...pemBlocks(t, 'CRL')])
      .map((der) => new x509.X509Crl(new Uint8Array(der)));
    if (crlTexts.length && !this.crls.length) throw new Error('trust: a CRL was configured but no PEM "X509 CRL" block was found in it');
  }

  get anchorCount(): number {
    return this.anchors.length;
  }

  /** Leaf first, anchor last; or why no path exists. Validity and revocation are checked separately. */
  buildPath(leaf: X509Certificate, intermediates: X509Certificate[]): X509Certificate[] | ChainFailure {
    const path = [leaf];
    let current = leaf;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (this.anchorPrints.has(fp(current))) return path;
      const issuedBy = (c: X509Certificate) => c.ca && current.checkIssued(c) && current.verify(c.publicKey);
      const anchor = this.anchors.find(issuedBy);
      if (anchor) {
        path.push(anchor);
        return path;
      }
      const next = intermediates.find((c) => !path.includes(c) && issuedBy(c));
      if (!next) break;
      path.push(next);
      current = next;
    }
    return { code: 'untrusted_chain', message: `no path from "${leaf.subject.replace(/\n/g, ', ')}" to a configured trust anchor` };
  }

  checkValidity(path: X509Certificate[], now: number): ChainFailure | undefined {
    for (const c of path) {
      const from = Date.parse(c.validFrom),
        to = Date.parse(c.validTo);
      if (now < from)
        return {
          code: 'certificate_expired',
          message: `certificate "${c.subject.replace(/\n/g, ', ')}" is not valid before ${new Date(from).toISOString()}`,
        };
      if (now > to)
        return {
          code: 'certificate_expired',
          message: `certificate "${c.subject.replace(/\n/g, ', ')}" expired ${new Date(to).toISOString()}`,
        };
    }
    return undefined;
  }

  async checkRevocation(path: X509Certificate[]): Promise<ChainFailure | undefined> {
    if (!this.crls.length) return undefined;
    for (let i = 0; i + 1 < path.length; i++) {
      const cert = path[i]!,
        issuer = path[i + 1]!;
      const issuerX = new x509.X509Certificate(new Uint8Array(issuer.raw));
      for (let k = 0; k < this.crls.length; k++) {
        const crl = this.crls[k]!;
        const cacheKey = `${k}:${fp(issuer)}`;
        let ok = this.crlSignatureOk.get(cacheKey);
        if (ok === undefined) {
          ok = crl.issuer === issuerX.subject && (await crl.verify({ publicKey: issuerX }).catch(() => false));
          this.crlSignatureOk.set(cacheKey, ok);
        }
        if (ok && crl.findRevoked(new x509.X509Certificate(new Uint8Array(cert.raw)))) {
          return {
            code: 'certificate_revoked',
            message: `certificate serial ${cert.serialNumber} ("${cert.subject.replace(/\n/g, ', ')}") is revoked`,
          };
        }
      }
    }
    return undefined;
  }
}
