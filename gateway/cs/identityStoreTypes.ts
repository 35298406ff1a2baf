// 本人確認情報 as the CS stores it. Field names follow gateway/domain (consistency.ts RECORD_HASH_FIELDS,
// searchKeys.ts NameFields, validation.ts); [local interface] until gateway/messages' zod schema lands.

/** 異動事由: 記載 (add), 消除 (delete, the record is kept as 除票), 修正 (correct). */
export type ChangeReason = '記載' | '消除' | '修正';
export const CHANGE_REASONS: readonly ChangeReason[] = ['記載', '消除', '修正'];

export interface IdentityRecord {
  residentCode: string;          // 住民票コード (11 digits)
  myNumber: string;              // 個人番号 (12 digits)
  lgCode: string;                // 全国地方公共団体コード of the registering municipality (or ward)
  name: string;                  // 氏名, exactly as given (surname U+3000 given)
  nameKana: string;              // 振り仮名
  /** 生年月日 YYYY-MM-DD; unknown parts written 00 (YYYY-00-00, YYYY-MM-00), see domain/dates.ts. */
  birthDate: string;
  sex: '1' | '2';                // 性別: 1 male, 2 female
  address: string;               // 住所, exactly as given
  postcode?: string;
  formerSurname?: string;        // 旧氏
  formerSurnameKana?: string;
  alias?: string;                // 通称 (foreign residents)
  aliasKana?: string;
  changeReason: ChangeReason;    // 異動事由
  changeDate: string;            // 異動年月日 YYYY-MM-DD
  status: 'current' | 'deleted';
  previousResidentCode?: string;
  updateSeq: number;             // 更新順番号, assigned by the store
}

/** What a caller hands to apply(): the record without the store-assigned fields. */
export type IdentityChange = Omit<IdentityRecord, 'updateSeq' | 'status'> & { status?: IdentityRecord['status'] };

export interface SearchQuery {
  name?: string;       // kanji (or the name as written, Latin/katakana for foreign residents)
  kana?: string;
  birthDate?: string;  // YYYY-MM-DD; 00 parts (or YYYY / YYYY-MM) match any month/day
  address?: string;    // matched as a prefix of the normalised address
  sex?: '1' | '2';
  lgCode?: string;
  includeDeleted?: boolean;
}

export interface SearchResult { hits: IdentityRecord[]; total: number; truncated: boolean }

/** How record values are written (default JSON); encryption at rest swaps in an encrypting codec. */
export interface ValueCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export const jsonCodec: ValueCodec = {
  encode: (v) => Buffer.from(JSON.stringify(v), 'utf8'),
  decode: (b) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')),
};
