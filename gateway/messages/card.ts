// 個人番号カード: continued use after move-in (3-⑥), delivery-address batches (7-①②) and card
// life-cycle events (8-①). All durable: stored, acknowledged, delivered to `card` in order.
import { z } from 'zod';
import { acceptedResult, asciiId, enumField, type FieldKit } from './fields.js';
import type { MessageSpec } from './spec.js';
import { personFields } from './identityRecord.js';

export const CARD_EVENTS = ['issue', 'suspend', 'liftSuspension', 'revoke', 'collect', 'return'] as const;
export const MAX_DELIVERY_ITEMS = 1000;

export function cardMessages(k: FieldKit) {
  const cardSerial = asciiId('cardSerial', 32, 'カード管理番号 (card serial)');
  const deliveryItem = z
    .strictObject({
      ...personFields(k),
      deliveryName: k.name.optional().describe('送付先氏名, when not the resident'),
      deliveryAddress: k.address.optional().describe('送付先住所, when not the registered address'),
      deliveryPostcode: k.postcode.optional(),
      reason: enumField(
        'reason',
        ['newIssue', 'reissue', 'renewal'] as const,
        '交付事由: "newIssue" 新規, "reissue" 再交付, "renewal" 更新',
      ),
    })
    .describe('送付先情報 (one delivery address)');

  return {
    'card.continue': {
      kind: 'durable',
      schemaVersion: 1,
      description: '3-⑥ terminal → CS → card: continued use of the card after a move-in',
      request: z
        .strictObject({
          residentCode: k.residentCode,
          myNumber: k.myNumber,
          cardSerial: cardSerial.optional(),
          newLgCode: k.lgCode.describe('転入先 全国地方公共団体コード'),
          newAddress: k.address.describe('転入後の住所 (written on the card)'),
          moveInDate: k.pastDate('moveInDate', '転入年月日'),
          operatorId: k.operatorId,
          terminalId: k.terminalId,
        })
        .describe('継続利用 (continued use)'),
      result: acceptedResult,
    },
    'card.delivery': {
      kind: 'durable',
      schemaVersion: 1,
      description: '7-①② register system → CS → card: delivery addresses of residents whose card is to be issued (batch)',
      request: z
        .strictObject({
          batchId: asciiId('batchId', 64, 'batch id, unique per municipality (resending is safe)'),
          lgCode: k.lgCode,
          items: z
            .array(deliveryItem)
            .min(1, 'items.empty: at least one item')
            .max(MAX_DELIVERY_ITEMS, `items.length: at most ${MAX_DELIVERY_ITEMS} per batch`)
            .describe('per-record items'),
        })
        .superRefine((b, ctx) => {
          const seen = new Set<string>();
          b.items.forEach((it, i) => {
            if (seen.has(it.residentCode))
              ctx.addIssue({
                code: 'custom',
                path: ['items', i, 'residentCode'],
                message: 'items.duplicate: a resident appears twice in the batch',
              });
            seen.add(it.residentCode);
          });
        })
        .describe('送付先情報 batch'),
      result: acceptedResult.extend({ itemCount: z.number().int().min(1).describe('items accepted') }),
    },
    'card.event': {
      kind: 'durable',
      schemaVersion: 1,
      description: '8-① terminal or register system → CS → card: issue, suspension, lifting of suspension, revocation, collection, return',
      request: z
        .strictObject({
          event: enumField(
            'event',
            CARD_EVENTS,
            '"issue" 交付, "suspend" 一時停止, "liftSuspension" 一時停止解除, "revoke" 廃止, "collect" 回収, "return" 返納',
          ),
          residentCode: k.residentCode,
          myNumber: k.myNumber.optional(),
          cardSerial: cardSerial.optional(),
          eventDate: k.pastDate('eventDate', '発生年月日'),
          reason: z.string().max(200).optional().describe('事由 (free text, no personal data beyond the record)'),
          operatorId: k.operatorId.optional(),
          terminalId: k.terminalId.optional(),
        })
        .describe('card life-cycle event'),
      result: acceptedResult,
    },
  } satisfies Record<string, MessageSpec>;
}
