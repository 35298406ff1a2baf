// 特例転入 (move-in with the card): certificate request 3-② / 3-③, the certificate held on the old
// side, its push to the register 3-④, and the move-in notice 3-⑤ with its other side.
import { z } from 'zod';
import { asciiId, type FieldKit } from './fields.js';
import { identityRecordSchema } from './identityRecord.js';
import type { MessageSpec } from './spec.js';

export function moveOutCertificateSchema(k: FieldKit) {
  return z
    .strictObject({
      certificateId: asciiId('certificateId', 64, '転出証明書情報の識別子 (certificate id), unique at the issuing municipality'),
      residentCode: k.residentCode,
      myNumber: k.myNumber.optional(),
      name: k.name,
      nameKana: k.nameKana.optional(),
      birthDate: k.birthDate,
      sex: k.sex,
      oldAddress: k.address.describe('転出元住所 (address moved out of)'),
      oldLgCode: k.lgCode.describe('転出元 全国地方公共団体コード'),
      plannedAddress: k.address.optional().describe('転出先住所 (planned new address)'),
      plannedMoveDate: k.date('plannedMoveDate', '転出予定年月日 (planned move-out date)'),
      householdHead: k.name.optional().describe('世帯主 (head of household)'),
      relationship: z.string().max(20).optional().describe('続柄 (relationship to the head of household)'),
      issuedOn: k.pastDate('issuedOn', '作成年月日 (date the certificate data was made)'),
      expiresOn: k.date('expiresOn', '有効期限 (move-in within 14 days of arrival and 30 days of the planned move date)').optional(),
    })
    .describe('転出証明書情報 (move-out certificate data)');
}

export function moveOutMessages(k: FieldKit) {
  const certificate = moveOutCertificateSchema(k);
  const record = identityRecordSchema(k);
  const notice = z
    .strictObject({
      residentCode: k.residentCode,
      myNumber: k.myNumber.optional(),
      name: k.name,
      birthDate: k.birthDate,
      oldLgCode: k.lgCode.describe('転出元 全国地方公共団体コード (where the notice goes)'),
      newLgCode: k.lgCode.describe('転入先 全国地方公共団体コード'),
      newAddress: k.address.describe('転入後の住所'),
      moveInDate: k.pastDate('moveInDate', '転入年月日'),
      certificateId: asciiId('certificateId', 64, 'the move-out certificate this move-in used').optional(),
      record: record.optional().describe('the new identity record (present on the sending side: it is also notified to the prefecture)'),
    })
    .superRefine((n, ctx) => {
      if (n.oldLgCode === n.newLgCode)
        ctx.addIssue({ code: 'custom', path: ['newLgCode'], message: 'movein.sameMunicipality: newLgCode must differ from oldLgCode' });
      if (n.record && n.record.residentCode !== n.residentCode) {
        ctx.addIssue({
          code: 'custom',
          path: ['record', 'residentCode'],
          message: 'movein.recordMismatch: record.residentCode must equal residentCode',
        });
      }
    })
    .describe('転入通知情報 (move-in notice)');

  return {
    'moveout.cert.request': {
      kind: 'interactive',
      schemaVersion: 1,
      description: '3-② terminal → CS → lg:{old}: ask the old municipality for the move-out certificate data; 3-③ its CS answers',
      request: z
        .strictObject({
          residentCode: k.residentCode.optional(),
          myNumber: k.myNumber.optional(),
          name: k.name,
          birthDate: k.birthDate,
          oldLgCode: k.lgCode.optional().describe('転出元 全国地方公共団体コード; decides the target lg:{code}'),
          oldAddress: k.address.optional().describe('転出元住所, used to find the code when oldLgCode is absent'),
          operatorId: k.operatorId,
          terminalId: k.terminalId,
          dutyCode: k.dutyCode.optional(),
        })
        .superRefine((r, ctx) => {
          if (r.residentCode === undefined && r.myNumber === undefined) {
            ctx.addIssue({ code: 'custom', path: ['residentCode'], message: 'moveout.personKey: give residentCode or myNumber' });
          }
          if (r.oldLgCode === undefined && r.oldAddress === undefined) {
            ctx.addIssue({ code: 'custom', path: ['oldLgCode'], message: 'moveout.target: give oldLgCode or oldAddress' });
          }
        })
        .describe('move-out certificate request'),
      result: z.strictObject({ certificate }).describe('the certificate data'),
    },
    'moveout.cert.store': {
      kind: 'durable',
      schemaVersion: 1,
      description: '(3-③ other side) register system → CS: certificate data to hold, with expiry, for a future request',
      request: z.strictObject({ certificate }).describe('certificate to hold'),
      result: z
        .strictObject({
          certificateId: asciiId('certificateId', 64, 'the stored certificate'),
          expiresOn: k.date('expiresOn', 'when the held data is discarded'),
        })
        .describe('held'),
    },
    'moveout.cert': {
      kind: 'push',
      schemaVersion: 1,
      description: '3-④ CS → register system (to/{id}/moveout.cert): the certificate data received from the old municipality',
      request: z
        .strictObject({
          certificate,
          requestId: z.string().max(64).optional().describe('id of the moveout.cert.request it answers'),
        })
        .describe('certificate for the register'),
    },
    'movein.notice': {
      kind: 'durable',
      schemaVersion: 1,
      description:
        '3-⑤ register → CS → lg:{old} and identity.notify → pref: in one atomic write; on the old side lg:{new} → CS → register (to/{id}/movein.notice)',
      request: notice,
      result: z
        .strictObject({
          accepted: z.literal(true).describe('stored and queued'),
          updateSeq: z.number().int().min(0).optional().describe('更新順番号 given to the new record, when one was sent'),
        })
        .describe('accepted'),
    },
  } satisfies Record<string, MessageSpec>;
}
