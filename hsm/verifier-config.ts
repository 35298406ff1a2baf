// Verifier from the `trust` config section: reads anchor, peer and CRL files once at start-up.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { trustSection } from '../config/schema/hsm.js';
import type { DedupeStore } from './dedupe.js';
import type { HsmLogger } from './signer.js';
import { createVerifier, type JwsVerifier } from './verifier.js';

export type TrustConfig = z.infer<typeof trustSection>;

function readAll(files: string[], what: string): string[] {
  return files.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new Error(`trust.${what}: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  });
}

export function verifierFromConfig(
  trust: TrustConfig,
  opts: { dedupe?: DedupeStore; logger?: HsmLogger; extraAnchorsPem?: string[] } = {},
): JwsVerifier {
  return createVerifier({
    trustAnchorsPem: [...readAll(trust.anchors, 'anchors'), ...(opts.extraAnchorsPem ?? [])],
    peerCertificatesPem: readAll(trust.peers, 'peers'),
    crlPem: trust.crl.length ? readAll(trust.crl, 'crl') : undefined,
    acceptX5c: trust.acceptX5c,
    replayWindowSeconds: trust.replayWindowSeconds,
    dedupeWindowSeconds: trust.dedupeWindowSeconds,
    dedupe: opts.dedupe,
    logger: opts.logger,
  });
}
