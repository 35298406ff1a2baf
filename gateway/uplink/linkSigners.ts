// Which certificate signs the messages of each upstream link. Configured links present the token
// key's certificate (hsm.certFile or dataDir/hsm/<keyLabel>.cert.pem); without configured upstreams
// the simulated link presents the certificate the simulated CA issued for the same token key
// (dataDir/sim-pki/peers/lg_<code>.pem). Upstream teams need this certificate, and its issuer, to
// verify: `keys list`, the start-up log, the UI and `keys export-cert` all read it from here.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { certificateFiles } from '../../hsm/create-signer.js';
import { describeCertificate, kidOf, pemBlocks } from '../../hsm/index.js';
import { fileSafe } from '../../sim/pki.js';

export interface LinkSigner {
  link: string;
  simulated: boolean;
  /** The signing certificate presented on this link (its kid is what the wire carries). */
  certificateFile: string;
  /** What the upstream team passes as --trust: the issuer chain, or the certificate itself when self-signed. */
  issuerFile: string;
}

export interface LinkSignerInfo extends LinkSigner {
  /** Absent while the certificate does not exist yet (made at the appliance's first start). */
  kid?: string;
  subject?: string;
  issuer?: string;
  notAfter?: string;
  selfSigned?: boolean;
}

export const SIMULATED_LINK = 'simulated';

export function linkSigners(config: Pick<ApplianceConfig, 'upstreams' | 'dataDir' | 'hsm' | 'municipalities'>): LinkSigner[] {
  if (config.upstreams.length === 0) {
    const pki = join(config.dataDir, 'sim-pki');
    return [
      {
        link: SIMULATED_LINK,
        simulated: true,
        certificateFile: join(pki, 'peers', `${fileSafe(`lg:${config.municipalities[0]}`)}.pem`),
        issuerFile: join(pki, 'ca', 'ca.pem'),
      },
    ];
  }
  const { certFile, chainFile } = certificateFiles(config.hsm, config.dataDir);
  return config.upstreams.map((u) => ({ link: u.name, simulated: false, certificateFile: certFile, issuerFile: chainFile }));
}

/** Reads the certificate (when it exists) for its kid, names and expiry; a self-signed one is its own issuer file. */
export function describeLinkSigner(s: LinkSigner): LinkSignerInfo {
  if (!existsSync(s.certificateFile)) return s;
  const der = pemBlocks(readFileSync(s.certificateFile, 'utf8'))[0];
  if (!der) return s;
  const c = describeCertificate(der, kidOf(der));
  return {
    ...s,
    issuerFile: c.selfSigned ? s.certificateFile : s.issuerFile,
    kid: c.kid,
    subject: c.subject,
    issuer: c.issuer,
    notAfter: c.notAfter.toISOString(),
    selfSigned: c.selfSigned,
  };
}
