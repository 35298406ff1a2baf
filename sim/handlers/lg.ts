// Another municipality's CS (simulated): answers move-out certificate requests (転出証明書情報) for
// people registered there, and receives move-in notices (転入通知) for them.
import type { SimDirectory } from '../directory.js';
import { SimError, type SimHandler } from '../node.js';

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86400_000).toISOString().slice(0, 10);

export function lgHandlers(dir: SimDirectory, lgCode: string): Record<string, SimHandler> {
  let serial = 0;
  return {
    'moveout.cert.request': async (env) => {
      const p = dir.byResidentCode(String(env.body.residentCode));
      if (!p)
        throw new SimError('not_found', 'no move-out certificate for this person', [
          { path: 'body.residentCode', problem: 'certificate.notFound: no person with this 住民票コード moved out of here' },
        ]);
      return {
        certificate: {
          certificateId: `MO-${lgCode}-${day(0).slice(0, 4)}-${String(++serial).padStart(6, '0')}`,
          residentCode: p.residentCode,
          myNumber: p.myNumber,
          name: p.name,
          birthDate: p.birthDate,
          sex: p.sex,
          oldAddress: p.address,
          oldLgCode: lgCode,
          plannedAddress: p.plannedAddress ?? p.address,
          plannedMoveDate: day(7),
          issuedOn: day(0),
          expiresOn: day(37),
        },
      };
    },
    'movein.notice': async () => ({ accepted: true }),
  };
}
