// 本人確認情報 (identity record): the 4 items + 個人番号 + 住民票コード + change information, as the
// register system sends it and as the CS stores and notifies it. Field order matches
// domain/consistency.ts RECORD_HASH_FIELDS.
import { z } from 'zod';
import { enumField, intField, type FieldKit } from './fields.js';

export const CHANGE_REASONS = ['add', 'delete', 'correct'] as const;
export const RECORD_STATUSES = ['current', 'deleted'] as const;

/** The person as identified everywhere (4 items + 個人番号 + 住民票コード), in record-hash field order. */
export function personFields(k: FieldKit) {
  return {
    residentCode: k.residentCode,
    myNumber: k.myNumber,
    name: k.name,
    nameKana: k.nameKana.optional(),
    birthDate: k.birthDate,
    sex: k.sex,
    address: k.address,
    postcode: k.postcode.optional(),
  };
}

export function identityRecordSchema(k: FieldKit) {
  return z
    .strictObject({
      ...personFields(k),
      lgCode: k.lgCode,
      formerSurname: k.formerSurname.optional(),
      formerSurnameKana: k.formerSurnameKana.optional(),
      alias: k.alias.optional(),
      aliasKana: k.aliasKana.optional(),
      changeReason: enumField('changeReason', CHANGE_REASONS, '異動事由 (reason of the change): "add" 記載, "delete" 消除, "correct" 修正'),
      changeDate: k.changeDate,
      status: enumField('status', RECORD_STATUSES, '状態: "current" (住民票) or "deleted" (除票, kept 150 years)'),
      previousResidentCode: k.residentCode.optional().describe('前住民票コード (previous resident-record code, after a code change)'),
      updateSeq: intField(
        'updateSeq',
        0,
        Number.MAX_SAFE_INTEGER,
        '更新順番号 (update sequence number) the CS assigns to every change; absent when the register system sends the record',
      ).optional(),
    })
    .superRefine((r, ctx) => {
      if (r.changeReason === 'delete' && r.status !== 'deleted') {
        ctx.addIssue({
          code: 'custom',
          path: ['status'],
          message: 'record.deleteStatus: a 消除 (delete) change requires status "deleted"',
        });
      }
      if (r.changeReason === 'add' && r.status !== 'current') {
        ctx.addIssue({ code: 'custom', path: ['status'], message: 'record.addStatus: a 記載 (add) change requires status "current"' });
      }
      if (r.formerSurnameKana !== undefined && r.formerSurname === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['formerSurname'],
          message: 'record.formerSurname: a kana reading of 旧氏 needs 旧氏 itself',
        });
      }
      if (r.aliasKana !== undefined && r.alias === undefined) {
        ctx.addIssue({ code: 'custom', path: ['alias'], message: 'record.alias: a kana reading of 通称 needs 通称 itself' });
      }
      if (r.previousResidentCode !== undefined && r.previousResidentCode === r.residentCode) {
        ctx.addIssue({
          code: 'custom',
          path: ['previousResidentCode'],
          message: 'record.previousResidentCode: must differ from residentCode',
        });
      }
    })
    .describe('本人確認情報 (identity record)');
}

export type IdentityRecord = z.output<ReturnType<typeof identityRecordSchema>>;
export type IdentityRecordInput = z.input<ReturnType<typeof identityRecordSchema>>;
