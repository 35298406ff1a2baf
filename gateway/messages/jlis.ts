// 機構への情報照会 (5-①②): terminal → CS → national, by My Number or by the 4 items.
import { z } from 'zod';
import { type FieldKit } from './fields.js';
import { MAX_SEARCH_HITS } from './identity.js';
import { identityRecordSchema } from './identityRecord.js';
import type { MessageSpec } from './spec.js';

export function jlisMessages(k: FieldKit) {
  const common = { dutyCode: k.dutyCode, operatorId: k.operatorId, terminalId: k.terminalId };
  return {
    'jlis.inquiry': {
      kind: 'interactive',
      schemaVersion: 1,
      description: '5-①② terminal → CS → national: identity information from J-LIS by 個人番号 or the 4 items; needs the duty code',
      request: z
        .discriminatedUnion(
          'by',
          [
            z.strictObject({ by: z.literal('myNumber').describe('inquire by 個人番号'), myNumber: k.myNumber, ...common }),
            z.strictObject({
              by: z.literal('fourItems').describe('inquire by the 4 items'),
              name: k.name,
              birthDate: k.birthDate,
              sex: k.sex.optional(),
              address: k.address,
              ...common,
            }),
          ],
          { error: 'by.code: expected "myNumber" or "fourItems"' },
        )
        .describe('情報照会 request'),
      result: z
        .strictObject({
          records: z
            .array(identityRecordSchema(k))
            .max(MAX_SEARCH_HITS, `records.length: at most ${MAX_SEARCH_HITS}`)
            .describe('identity records J-LIS returned (empty when none)'),
        })
        .describe('情報照会 result'),
    },
  } satisfies Record<string, MessageSpec>;
}
