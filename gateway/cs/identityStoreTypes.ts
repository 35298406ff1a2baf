// 本人確認情報 as the CS stores it, typed from gateway/messages' identity record schema.

import type { IdentityRecord as MessageIdentityRecord } from '../messages/identityRecord.js';
import { CHANGE_REASONS as MESSAGE_CHANGE_REASONS } from '../messages/identityRecord.js';

/** 異動事由: add 記載, delete 消除 (the record is kept as 除票), correct 修正. */
export type ChangeReason = MessageIdentityRecord['changeReason'];
export const CHANGE_REASONS: readonly ChangeReason[] = MESSAGE_CHANGE_REASONS;
export const isChangeReason = (v: unknown): v is ChangeReason => CHANGE_REASONS.some((r) => r === v);

/**
 * The record as stored: gateway/messages' identity record (field order = domain RECORD_HASH_FIELDS)
 * with the 更新順番号 always present. Birth dates with unknown parts are written YYYY-00-00 / YYYY-MM-00.
 */
export type IdentityRecord = MessageIdentityRecord & { updateSeq: number };

/** What a caller hands to apply(): the record without the store-assigned fields. */
export type IdentityChange = Omit<MessageIdentityRecord, 'updateSeq' | 'status'> & { status?: IdentityRecord['status'] };

export interface SearchQuery {
  name?: string; // kanji (or the name as written, Latin/katakana for foreign residents)
  kana?: string;
  birthDate?: string; // YYYY-MM-DD; 00 parts (or YYYY / YYYY-MM) match any month/day
  address?: string; // matched as a prefix of the normalised address
  sex?: string; // '1' male, '2' female
  lgCode?: string;
  includeDeleted?: boolean;
}

export interface SearchResult {
  hits: IdentityRecord[];
  total: number;
  truncated: boolean;
}

/** How record values are written (default JSON); encryption at rest swaps in an encrypting codec. */
export interface ValueCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export const jsonCodec: ValueCodec = {
  encode: (v) => Buffer.from(JSON.stringify(v), 'utf8'),
  decode: (b): unknown => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')),
};
