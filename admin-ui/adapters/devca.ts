// Client certificates for local systems from the development CA (hsm/dev-ca). Production systems
// get certificates from the municipality's CA; this is for test benches and first setup.
import { X509Certificate } from 'node:crypto';
import { issueWithNewKey, type DevCa } from '../../hsm/dev-ca.js';
import type { IssuedCertificate } from '../services.js';

export function devCaClientCertificates(ca: DevCa, days = 365): (id: string) => Promise<IssuedCertificate> {
  return async (id) => {
    const issued = await issueWithNewKey(ca, { kind: 'client', commonName: id, days });
    return {
      certificatePem: issued.certPem,
      privateKeyPem: issued.keyPem,
      caPem: ca.certPem,
      notAfter: new Date(new X509Certificate(issued.certDer).validTo).toISOString(),
    };
  };
}
