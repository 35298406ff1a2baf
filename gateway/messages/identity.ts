// identity.* : update from the register (1-③), notification to the prefecture (1-④),
// verification (2-②③④) and the 4-item search (4-①).
import { z } from 'zod';
import { acceptedResult, enumField, intField, type FieldKit } from './fields.js';
import { identityRecordSchema } from './identityRecord.js';
import type { MessageSpec } from './spec.js';

/** Upper bound of hits any search result may carry (DOMAIN.md: ≈50, else too_many_hits). */
export const MAX_SEARCH_HITS = 50;

export function identityMessages(k: FieldKit) {
  const record = identityRecordSchema(k);
  const operator = { operatorId: k.operatorId, terminalId: k.terminalId };

  const fourItems = {
    name: k.name,
    birthDate: k.birthDate,
    sex: k.sex.optional(),
    address: k.address,
  };

  const verify = z
    .discriminatedUnion(
      'by',
      [
        z.strictObject({
          by: z.literal('residentCode').describe('verify by 住民票コード read from the card'),
          residentCode: k.residentCode,
          ...operator,
          dutyCode: k.dutyCode.optional(),
        }),
        z.strictObject({
          by: z.literal('fourItems').describe('verify by the 4 items from a statutory document'),
          ...fourItems,
          ...operator,
          dutyCode: k.dutyCode.optional(),
        }),
      ],
      { error: 'by.code: expected "residentCode" or "fourItems"' },
    )
    .describe('本人確認 request: by 住民票コード or by the 4 items');

  const search = z
    .strictObject({
      dutyCode: k.dutyCode,
      ...operator,
      name: k.name.optional(),
      kana: k.nameKana.optional().describe('振り仮名 to search by (instead of or with the name)'),
      birthDate: k.birthDate.optional(),
      sex: k.sex.optional(),
      address: k.address.optional(),
      lgCode: k.lgCode
        .optional()
        .describe('全国地方公共団体コード of the municipality where the person is registered, if known (decides the route)'),
      maxHits: intField(
        'maxHits',
        1,
        MAX_SEARCH_HITS,
        `hit cap for this search (1..${MAX_SEARCH_HITS}); more hits give too_many_hits`,
      ).optional(),
    })
    .superRefine((q, ctx) => {
      if (q.name === undefined && q.kana === undefined) {
        ctx.addIssue({ code: 'custom', path: ['name'], message: 'search.nameRequired: give name or kana' });
      }
      if (q.birthDate === undefined && q.address === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['birthDate'],
          message: 'search.secondKey: a 4-item search needs birthDate or address with the name',
        });
      }
    })
    .describe('本人確認情報検索 (4-item search); routed local / pref: / national by the address or lgCode');

  return {
    'identity.update': {
      kind: 'durable',
      schemaVersion: 1,
      description: '1-③ register system → CS: a new version of an identity record; stored and queued for the prefecture atomically',
      request: z.strictObject({ record }).describe('identity update'),
      result: z
        .strictObject({
          residentCode: k.residentCode,
          updateSeq: intField('updateSeq', 0, Number.MAX_SAFE_INTEGER, '更新順番号 assigned to this change'),
          messageId: z.string().max(64).optional().describe('id of the identity.notify queued for the prefecture'),
        })
        .describe('stored'),
    },
    'identity.notify': {
      kind: 'durable',
      schemaVersion: 1,
      description: '1-④ CS → pref: the updated identity record, in order per person (by updateSeq)',
      request: z
        .strictObject({
          record: record.refine((r) => r.updateSeq !== undefined, {
            message: 'record.updateSeq: a notification carries the update sequence number',
            path: ['updateSeq'],
          }),
        })
        .describe('identity notification'),
      result: acceptedResult,
    },
    'identity.verify': {
      kind: 'interactive',
      schemaVersion: 1,
      description: '2-②③④ terminal → CS → national: identity verification',
      request: verify,
      result: z
        .strictObject({
          status: enumField('status', ['match', 'mismatch', 'notFound'] as const, '"match", "mismatch" (some item differs) or "notFound"'),
          record: record.optional().describe("the national server's record, when found"),
        })
        .describe('verification result'),
    },
    'identity.search': {
      kind: 'interactive',
      schemaVersion: 1,
      description: "4-① terminal → CS (local) or → pref: / national: 4-item search; needs the operator's duty code",
      request: search,
      result: z
        .strictObject({
          route: enumField('route', ['local', 'pref', 'national'] as const, 'where the search was answered'),
          hitCount: intField('hitCount', 0, MAX_SEARCH_HITS, 'number of hits'),
          hits: z.array(record).max(MAX_SEARCH_HITS, `hits.length: at most ${MAX_SEARCH_HITS}`).describe('matching identity records'),
        })
        .refine((r) => r.hits.length === r.hitCount, { message: 'hitCount.mismatch: must equal the number of hits', path: ['hitCount'] })
        .describe('search result'),
    },
  } satisfies Record<string, MessageSpec>;
}
