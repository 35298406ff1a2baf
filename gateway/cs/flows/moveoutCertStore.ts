// (3-③ old side) The register system hands over the move-out certificate data when a resident moves
// out; the CS holds it with an expiry until the new municipality's CS asks for it (moveoutCertRequest).
import { isoDateInJapan } from '../../../domain/dates.js';
import type { FlowHandler } from '../../local/types.js';
import { defaultExpiry } from '../moveoutCertificates.js';
import { bodyOf, notServed, refuse, whoOf, type CsFlowDeps } from './shared.js';

export function moveoutCertStore(deps: CsFlowDeps): FlowHandler {
  return async (req, ctx) => {
    const { certificate } = bodyOf(deps, req, 'moveout.cert.store');
    const wrong = notServed(deps, certificate.oldLgCode, 'body.certificate.oldLgCode');
    if (wrong) return refuse(deps, req, ctx, 'invalid_request', 'a certificate is held by the CS of the municipality moved out of', wrong);
    const expiresOn = certificate.expiresOn ?? defaultExpiry(certificate.plannedMoveDate);
    if (expiresOn < isoDateInJapan(Date.now())) {
      return refuse(deps, req, ctx, 'invalid_request', 'the certificate has already expired', [
        {
          path: certificate.expiresOn ? 'body.certificate.expiresOn' : 'body.certificate.plannedMoveDate',
          problem: `certificate.expired: valid until ${expiresOn}`,
        },
      ]);
    }
    if (await deps.moveouts.get(certificate.oldLgCode, certificate.certificateId)) {
      return refuse(deps, req, ctx, 'conflict', 'a certificate with this id is already held', [
        { path: 'body.certificate.certificateId', problem: 'certificate.duplicate: already held' },
      ]);
    }
    const uow = ctx.begin();
    deps.moveouts.hold(uow.batch, { certificate: { ...certificate }, expiresOn, storedAt: Date.now() });
    ctx.reply(uow, { certificateId: certificate.certificateId, expiresOn });
    await deps.audit.record(uow, {
      ...whoOf(req),
      action: 'moveout.cert.store',
      outcome: 'ok',
      keys: [deps.audit.key('rc', certificate.residentCode)],
      detail: `expires ${expiresOn}`,
    });
    await uow.commit();
  };
}
