// Checkpoints: every N entries / T seconds the appliance's Signer signs (seq, hash) of the chain
// head as a JWS, so rewriting the chain needs the token key, not just write access to the disk.
// Prune anchors (retention) are signed the same way with another type.
import { X509Certificate } from 'node:crypto';
import { nowIso, uuidv7 } from '../../platform/envelope.js';
import { fromB64u, kidOf, signingInput, SUPPORTED_ALGS, verifyJoseSignature } from '../../hsm/jws.js';
import type { FlattenedJws, JwsAlg, Signer } from '../../hsm/types.js';

export type CheckpointKind = 'audit.checkpoint' | 'audit.prune';

export interface CheckpointRecord {
  seq: number;
  hash: string;
  at: string;
  kid: string;
  jws: FlattenedJws;
}

export async function signCheckpoint(signer: Signer, kind: CheckpointKind, seq: number, hash: string): Promise<CheckpointRecord> {
  const at = nowIso();
  const jws = await signer.signEnvelope({
    v: 1,
    id: uuidv7(),
    type: kind,
    from: 'appliance',
    to: 'audit',
    at,
    corr: null,
    body: { seq, hash },
  });
  return { seq, hash, at, kid: signer.kid, jws };
}

/** null when the checkpoint's signature is genuine under its stored certificate, else why not (whose key it is: pinAccepts). */
export function checkpointProblem(rec: CheckpointRecord, kind: CheckpointKind, certs: ReadonlyMap<string, Uint8Array>): string | null {
  const jws = rec.jws;
  if (!jws || typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') return 'no JWS';
  const p = fromB64u(jws.protected);
  const pl = fromB64u(jws.payload);
  const sig = fromB64u(jws.signature);
  if (!p || !pl || !sig) return 'JWS is not base64url';
  let header: { alg?: unknown; kid?: unknown };
  let payload: { type?: unknown; body?: { seq?: unknown; hash?: unknown } };
  try {
    header = JSON.parse(p.toString('utf8')) as typeof header;
    payload = JSON.parse(pl.toString('utf8')) as typeof payload;
  } catch {
    return 'JWS header or payload is not JSON';
  }
  if (!SUPPORTED_ALGS.includes(header.alg as JwsAlg)) return `unsupported alg ${String(header.alg)}`;
  if (header.kid !== rec.kid) return 'kid in the JWS differs from the record';
  const der = certs.get(rec.kid);
  if (!der) return `certificate ${rec.kid} is missing`;
  if (kidOf(der) !== rec.kid) return `stored certificate does not match kid ${rec.kid}`;
  let ok = false;
  try {
    ok = verifyJoseSignature(header.alg as JwsAlg, new X509Certificate(der).publicKey, signingInput(jws.protected, jws.payload), sig);
  } catch {
    return 'stored certificate is not parseable';
  }
  if (!ok) return 'signature does not verify';
  if (payload.type !== kind) return `signed payload is a ${String(payload.type)}, not a ${kind}`;
  if (payload.body?.seq !== rec.seq || payload.body?.hash !== rec.hash) return 'signed (seq, hash) differs from the record';
  return null;
}

/**
 * The pin of a verification: a kid is accepted when it is a pinned kid, the kid of a pinned
 * certificate, or its stored certificate was issued (and signed) by a pinned CA certificate.
 * Validity periods are not checked: a checkpoint stays genuine after its certificate expires.
 */
export function pinAccepts(
  opts: { trustedKids?: Iterable<string>; trustedCerts?: Iterable<Uint8Array> },
  certs: ReadonlyMap<string, Uint8Array>,
): ((kid: string) => boolean) | undefined {
  if (opts.trustedKids === undefined && opts.trustedCerts === undefined) return undefined;
  const kids = new Set(opts.trustedKids ?? []);
  const cas: X509Certificate[] = [];
  for (const der of opts.trustedCerts ?? []) {
    kids.add(kidOf(der));
    try {
      const x = new X509Certificate(der);
      if (x.ca) cas.push(x);
    } catch {
      /* not parseable: pins its kid only */
    }
  }
  return (kid) => {
    if (kids.has(kid)) return true;
    const der = certs.get(kid);
    if (!der || cas.length === 0 || kidOf(der) !== kid) return false;
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(der);
    } catch {
      return false;
    }
    return cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
  };
}
