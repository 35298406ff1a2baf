// Number-linkage segment (attachments 1–4): addressee updates, processing serial numbers, code
// requests through GW → CS, code delivery (upstream only), secondary copies and information queries.
// The GW whitelists exactly these fields: bodies are strict, unknown fields are refused.
import { z } from 'zod';
import { asciiId, enumField, type FieldKit } from './fields.js';
import type { MessageSpec } from './spec.js';

export function numberLinkageMessages(k: FieldKit) {
  const operation = enumField('operation', ['add', 'update', 'delete'] as const, '"add" 新規, "update" 更新, "delete" 削除');
  const infoType = asciiId('infoType', 32, '特定個人情報名コード (kind of specific personal information)');
  const accepted = z.strictObject({ accepted: z.literal(true).describe('stored and relayed') }).describe('accepted');

  return {
    'addressee.update': {
      kind: 'relay',
      schemaVersion: 1,
      description: 'att 1-③ number-linkage → ims:: addressee (宛名) data update on the intermediate server',
      request: z
        .strictObject({
          lgCode: k.lgCode,
          addresseeNo: k.addresseeNo,
          operation,
          myNumber: k.myNumber.optional(),
          name: k.name.optional(),
          nameKana: k.nameKana.optional(),
          birthDate: k.birthDate.optional(),
          sex: k.sex.optional(),
          address: k.address.optional(),
        })
        .describe('宛名 update'),
      result: accepted,
    },
    'serial.request': {
      kind: 'relay',
      schemaVersion: 1,
      description: 'att 2-①…④ number-linkage → ims: → nws → back: obtain a processing serial number (処理通番)',
      request: z.strictObject({ lgCode: k.lgCode, addresseeNo: k.addresseeNo }).describe('処理通番 request'),
      result: z.strictObject({ serialNo: k.serialNo }).describe('the issued 処理通番'),
    },
    'code.request': {
      kind: 'ack',
      schemaVersion: 1,
      description:
        'att 2-⑤⑥⑦ number-linkage → GW → CS → national: request the code (符号); the caller gets only an accept acknowledgement. The CS resolves 個人番号 → 住民票コード; the serial number is deleted once the acquisition completes (only its hash is audited)',
      request: z
        .strictObject({
          lgCode: k.lgCode,
          serialNo: k.serialNo,
          myNumber: k.myNumber.optional().describe("個人番号: the number-linkage server's request (2-⑤); the GW passes only this form"),
          residentCode: k.residentCode
            .optional()
            .describe("住民票コード: the CS's request to the national server (2-⑦), resolved from the 個人番号"),
        })
        .superRefine((c, ctx) => {
          if ((c.myNumber === undefined) === (c.residentCode === undefined))
            ctx.addIssue({
              code: 'custom',
              path: ['myNumber'],
              message: 'code.person: exactly one of myNumber (2-⑤) or residentCode (2-⑦)',
            });
        })
        .describe('符号取得 request'),
      result: z
        .strictObject({
          accepted: z.literal(true).describe('the request was passed upstream'),
        })
        .describe('accept acknowledgement (the code itself goes to the intermediate server, never to the CS)'),
    },
    'code.deliver': {
      kind: 'relay',
      schemaVersion: 1,
      description: 'att 2-⑧⑨ national → nws → ims: (upstream only; simulated): the generated code reaches the intermediate server',
      request: z
        .strictObject({
          lgCode: k.lgCode,
          serialNo: k.serialNo,
          code: asciiId('code', 128, '符号 (opaque per-organisation pseudonym); never stored by the CS or GW'),
        })
        .describe('符号 delivery'),
    },
    'copy.update': {
      kind: 'relay',
      schemaVersion: 1,
      description: 'att 3-③ number-linkage → ims:: update of the secondary copy (副本)',
      request: z
        .strictObject({
          lgCode: k.lgCode,
          addresseeNo: k.addresseeNo,
          infoType,
          operation,
          data: z
            .record(z.string().max(64), z.unknown())
            .optional()
            .describe('the specific personal information (opaque to the appliance); absent on delete'),
        })
        .superRefine((c, ctx) => {
          if (c.operation !== 'delete' && c.data === undefined)
            ctx.addIssue({ code: 'custom', path: ['data'], message: 'copy.data: required unless operation is "delete"' });
        })
        .describe('副本 update'),
      result: accepted,
    },
    'info.query': {
      kind: 'relay',
      schemaVersion: 1,
      description: 'att 4-②…⑤ number-linkage → ims: → nws → other body → back: query specific personal information another body holds',
      request: z
        .strictObject({
          lgCode: k.lgCode,
          addresseeNo: k.addresseeNo,
          infoType,
          targetOrg: asciiId('targetOrg', 32, '情報照会先 機関コード (organisation queried)'),
          procedure: asciiId('procedure', 32, '事務手続コード (the procedure the query is for)'),
        })
        .describe('情報照会 request'),
      result: z
        .strictObject({
          found: z.boolean().describe('whether the other body holds the information'),
          data: z.record(z.string().max(64), z.unknown()).optional().describe('the answer (opaque to the appliance)'),
        })
        .describe('情報照会 answer'),
    },
  } satisfies Record<string, MessageSpec>;
}
