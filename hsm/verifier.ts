// Verifier for signed upstream messages: one refusal code and one log line per reason.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { envelopeSchema, type Envelope } from '../platform/envelope.js';
import { parseCertificates, TrustStore, type ChainFailure } from './chain.js';
import type { DedupeStore } from './dedupe.js';
import { JWS_TYP, SUPPORTED_ALGS, fromB64u, kidOf, signingInput, verifyJoseSignature } from './jws.js';
import { silentLogger, type HsmLogger } from './signer.js';
import type { JwsAlg, VerifyFailureCode, VerifyResult, Verifier } from './types.js';

export interface VerifierOptions {
  /** PEM text(s) of the CA certificates upstream signing certificates chain to. */
  trustAnchorsPem: string | string[];
  /** PEM text(s) of CRLs (`-----BEGIN X509 CRL-----`). */
  crlPem?: string | string[];
  /** Known signers' certificates (PEM), looked up by kid. They must chain to the anchors too. */
  peerCertificatesPem?: string | string[];
  /** Accept a signer certificate carried in an `x5c` header (validated to the anchors). Default true. */
  acceptX5c?: boolean;
  /** `at` must lie within ±this many seconds of now. */
  replayWindowSeconds: number;
  /** Seen-id store; without one, ids are remembered in memory (lost at restart). */
  dedupe?: DedupeStore;
  /** How long ids are remembered (default 7 days; never less than twice the replay window). */
  dedupeWindowSeconds?: number;
  /** Accepted algorithms, a subset of ES256/PS256/RS256 (never none or HMAC). */
  algorithms?: JwsAlg[];
  logger?: HsmLogger;
}

interface Signer509 {
  cert: X509Certificate;
  key: KeyObject;
  subject: string;
  path?: X509Certificate[];
}

type Refusal = { ok: false; code: VerifyFailureCode; message: string };

export class JwsVerifier implements Verifier {
  private readonly trust: TrustStore;
  private readonly peers = new Map<string, Signer509>();
  /** Every configured peer certificate also serves as an intermediate (a peer file may hold a chain). */
  private readonly peerCerts: X509Certificate[];
  private readonly x5cCache = new Map<string, Signer509>();
  private readonly algorithms: Set<string>;
  private readonly windowMs: number;
  private readonly dedupeMs: number;
  private readonly inFlight = new Set<string>();
  private readonly logger: HsmLogger;
  readonly dedupeStore: DedupeStore | undefined;

  constructor(private readonly opts: VerifierOptions) {
    this.trust = new TrustStore(opts.trustAnchorsPem, opts.crlPem);
    this.peerCerts = parseCertificates(opts.peerCertificatesPem);
    for (const cert of this.peerCerts) this.peers.set(kidOf(cert.raw), signerOf(cert));
    const algs = opts.algorithms ?? [...SUPPORTED_ALGS];
    for (const a of algs)
      if (!SUPPORTED_ALGS.includes(a))
        throw new Error(`verifier: algorithm ${String(a)} is not allowed (only ${SUPPORTED_ALGS.join(', ')})`);
    this.algorithms = new Set(algs);
    this.windowMs = opts.replayWindowSeconds * 1000;
    this.dedupeMs = Math.max((opts.dedupeWindowSeconds ?? 7 * 86400) * 1000, 2 * this.windowMs);
    this.dedupeStore = opts.dedupe;
    this.logger = opts.logger ?? silentLogger;
    if (this.trust.anchorCount === 0)
      this.logger.warn({}, 'verifier: no trust anchors configured; every signed message will be refused (untrusted_chain)');
  }

  /**
   * `dedupe` (default true) records the id as seen. With `dedupe: false` a seen id is still refused,
   * but recording is left to the caller (e.g. in the same batch that stores the message).
   */
  async verify(jws: unknown, options: { dedupe?: boolean; now?: number } = {}): Promise<VerifyResult> {
    const now = options.now ?? Date.now();
    const r = await this.check(jws, now, options.dedupe !== false);
    if (!r.ok) this.logger.warn({ code: r.code, reason: r.message }, `signed message refused: ${r.code}`);
    return r;
  }

  /** Expiry (ms) the seen-id record of an envelope gets; for callers recording in their own batch. */
  dedupeExpiry(envelope: Envelope, now = Date.now()): number {
    return Math.max(now, Date.parse(envelope.at)) + this.dedupeMs;
  }

  private async check(jws: unknown, now: number, record: boolean): Promise<VerifyResult> {
    const fail = (code: VerifyFailureCode, message: string): Refusal => ({ ok: false, code, message });
    if (typeof jws === 'string') {
      try {
        jws = JSON.parse(jws);
      } catch {
        return fail('malformed', 'not JSON (expected a flattened JWS object)');
      }
    } else if (jws instanceof Uint8Array) {
      try {
        jws = JSON.parse(Buffer.from(jws).toString('utf8'));
      } catch {
        return fail('malformed', 'not JSON (expected a flattened JWS object)');
      }
    }
    if (typeof jws !== 'object' || jws === null || Array.isArray(jws)) return fail('malformed', 'expected a flattened JWS object');
    const j = jws as Record<string, unknown>;
    if (typeof j.protected !== 'string' || typeof j.payload !== 'string' || typeof j.signature !== 'string') {
      return fail('malformed', 'unsigned or incomplete: protected, payload and signature must be strings');
    }
    const headerBytes = fromB64u(j.protected),
      payload = fromB64u(j.payload),
      signature = fromB64u(j.signature);
    if (!headerBytes || !payload || !signature) return fail('malformed', 'protected, payload or signature is not base64url');
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBytes.toString('utf8')) as Record<string, unknown>;
      if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('not an object');
    } catch {
      return fail('malformed', 'protected header is not a JSON object');
    }
    if (header.crit !== undefined) return fail('malformed', 'critical header parameters are not supported');
    if (typeof header.alg !== 'string' || !this.algorithms.has(header.alg)) {
      return fail(
        'unsupported_alg',
        `algorithm ${JSON.stringify(header.alg ?? null)} is not allowed (allowed: ${[...this.algorithms].join(', ')})`,
      );
    }
    const alg = header.alg as JwsAlg;
    if (header.typ !== JWS_TYP) return fail('bad_typ', `typ must be "${JWS_TYP}", got ${JSON.stringify(header.typ ?? null)}`);
    if (typeof header.kid !== 'string' || header.kid === '') return fail('unknown_key', 'no kid in the protected header');
    const kid = header.kid;
    if (header['x5t#S256'] !== undefined && header['x5t#S256'] !== kid) return fail('malformed', 'x5t#S256 differs from kid');

    const signer = this.signerFor(kid, header.x5c);
    if ('code' in signer) return fail(signer.code, signer.message);
    if (!signer.path) {
      const path = this.trust.buildPath(signer.cert, [...this.intermediates(header.x5c), ...this.peerCerts]);
      if ('code' in path) return fail(path.code, path.message);
      signer.path = path;
    }
    const invalid = this.trust.checkValidity(signer.path, now) ?? (await this.trust.checkRevocation(signer.path));
    if (invalid) return fail(invalid.code, invalid.message);

    if (!verifyJoseSignature(alg, signer.key, signingInput(j.protected, j.payload), signature)) {
      return fail('bad_signature', `${alg} signature does not verify with the certificate of kid ${kid}`);
    }

    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    } catch {
      return fail('bad_envelope', 'payload is not UTF-8 JSON');
    }
    const parsed = envelopeSchema.safeParse(body);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return fail('bad_envelope', `payload is not a contract envelope: ${i.path.join('.') || '(envelope)'}: ${i.message}`);
    }
    const envelope = parsed.data as Envelope;
    const at = Date.parse(envelope.at);
    if (now - at > this.windowMs) return fail('stale', `at ${envelope.at} is older than the ${this.windowMs / 1000}s window`);
    if (at - now > this.windowMs) return fail('future', `at ${envelope.at} is more than ${this.windowMs / 1000}s ahead`);

    const replay = await this.dedupe(envelope, now, record);
    if (replay) return replay;
    return { ok: true, envelope, kid, signerSubject: signer.subject };
  }

  private signerFor(kid: string, x5c: unknown): Signer509 | ChainFailure {
    const peer = this.peers.get(kid) ?? this.x5cCache.get(kid);
    if (peer) return peer;
    if (x5c !== undefined && this.opts.acceptX5c !== false) {
      const certs = this.intermediates(x5c, true);
      const leaf = certs[0];
      if (!leaf) return { code: 'malformed', message: 'x5c is not an array of base64 DER certificates' };
      if (kidOf(leaf.raw) !== kid) return { code: 'unknown_key', message: 'x5c[0] does not match kid' };
      const s = signerOf(leaf);
      const path = this.trust.buildPath(leaf, [...certs.slice(1), ...this.peerCerts]);
      if ('code' in path) return path;
      s.path = path;
      if (this.x5cCache.size > 1000) this.x5cCache.clear();
      this.x5cCache.set(kid, s);
      return s;
    }
    return { code: 'unknown_key', message: `no certificate known for kid ${kid}` };
  }

  private intermediates(x5c: unknown, withLeaf = false): X509Certificate[] {
    if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 8) return [];
    try {
      const certs = x5c.map((s) => {
        if (typeof s !== 'string') throw new Error('not a string');
        return new X509Certificate(Buffer.from(s, 'base64'));
      });
      return withLeaf ? certs : certs.slice(1);
    } catch {
      return [];
    }
  }

  private async dedupe(envelope: Envelope, now: number, record: boolean): Promise<Refusal | undefined> {
    const id = envelope.id;
    const store = this.opts.dedupe ?? this.memory;
    const replayed: Refusal = { ok: false, code: 'replayed', message: `message id ${id} was already received` };
    if (!record) return (await store.seen(id, now)) ? replayed : undefined;
    // Claimed before the first await: two copies arriving together must not both pass.
    if (this.inFlight.has(id)) return replayed;
    this.inFlight.add(id);
    try {
      if (await store.seen(id, now)) return replayed;
      await store.record(id, this.dedupeExpiry(envelope, now));
      this.maybeSweep(store, now);
      return undefined;
    } finally {
      this.inFlight.delete(id);
    }
  }

  private lastSweep = Date.now();
  private sweeping = false;

  /** Expired ids are dropped in the background, at most once a minute. */
  private maybeSweep(store: DedupeStore, now: number): void {
    if (this.sweeping || now - this.lastSweep < 60_000) return;
    this.sweeping = true;
    this.lastSweep = now;
    store
      .sweep(now)
      .catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, 'verifier: dedupe sweep failed'))
      .finally(() => {
        this.sweeping = false;
      });
  }

  private readonly memory: DedupeStore = (() => {
    const ids = new Map<string, number>();
    return {
      async seen(id: string, now: number) {
        const e = ids.get(id);
        return e !== undefined && e > now;
      },
      async record(id: string, exp: number) {
        if (ids.size > 100_000) for (const [k, e] of ids) if (e <= Date.now()) ids.delete(k);
        ids.set(id, exp);
      },
      async sweep(now: number) {
        let n = 0;
        for (const [k, e] of ids)
          if (e <= now) {
            ids.delete(k);
            n++;
          }
        return n;
      },
    };
  })();
}

function signerOf(cert: X509Certificate): Signer509 {
  return { cert, key: cert.publicKey, subject: cert.subject.replace(/\n/g, ', ') };
}

export function createVerifier(opts: VerifierOptions): JwsVerifier {
  return new JwsVerifier(opts);
}

/** Verifier kit entry point: one message, no dedupe memory. */
export async function verifyMessage(
  jws: unknown,
  opts: Omit<VerifierOptions, 'dedupe' | 'replayWindowSeconds'> & { replayWindowSeconds?: number; now?: number },
): Promise<VerifyResult> {
  const v = new JwsVerifier({ ...opts, replayWindowSeconds: opts.replayWindowSeconds ?? 300 });
  return v.verify(jws, { now: opts.now });
}
