// bench:uplink's baselines: the same path with the cryptography taken out (never used outside the
// benchmark), and the raw signing rate of the token, for the ratios printed in the same run.
import { envelopeSchema, type Envelope } from '../../platform/envelope.js';
import { fromB64u } from '../../hsm/index.js';
import type { FlattenedJws, Signer, Verifier, VerifyResult } from '../../hsm/types.js';

/** A JWS without signature: the uplink's signing step costs only the serialisation. */
export const unsignedSigner: Signer = {
  kid: 'unsigned',
  certificateDer: new Uint8Array(),
  status: () => ({ kind: 'software', ready: true, detail: 'benchmark baseline: no signature', warning: 'unsigned benchmark baseline' }),
  close: async () => undefined,
  async signEnvelope(env): Promise<FlattenedJws> {
    return { protected: 'e30', payload: Buffer.from(JSON.stringify(env)).toString('base64url'), signature: '' };
  },
};

/** A receiver that only parses the envelope: no chain, no signature, no replay check. */
export const unsignedVerifier: Verifier = {
  async verify(jws: unknown): Promise<VerifyResult> {
    const j = (jws instanceof Uint8Array ? JSON.parse(Buffer.from(jws).toString('utf8')) : jws) as FlattenedJws;
    const env = envelopeSchema.parse(JSON.parse(fromB64u(j.payload)!.toString('utf8')));
    return { ok: true, envelope: env, kid: 'unsigned', signerSubject: 'unsigned' };
  },
};

/** signEnvelope calls per second on `signer` with `inFlight` callers for `seconds`. */
export async function rawSigningRate(signer: Signer, env: Envelope, seconds: number, inFlight: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await signer.signEnvelope(env);
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** The p-th percentile (nearest rank below); NaN when empty. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
