// A small rule vocabulary for the register's fields. Every check returns either undefined (valid)
// or a problem text that starts with the rule's id (`myNumber.checkDigit: …`), so an error detail
// `{ path, problem }` names both the field and the rule. Pure: tables and `today` are injected.
import type { ErrorDetail } from '../platform/envelope.js';
import { parseDate, type DateRules } from './dates.js';
import { isPrefectureCode, isValidLgCode, isValidMyNumber, isValidResidentCode } from './identifiers.js';

export type Problem = string;
export type Check<T = string> = (value: T) => Problem | undefined;

/** Runs checks in order; the first failing one is reported (later rules assume earlier ones). */
export function validate<T>(path: string, value: T, ...checks: Check<T>[]): ErrorDetail[] {
  for (const c of checks) {
    const problem = c(value);
    if (problem !== undefined) return [{ path, problem }];
  }
  return [];
}

/** 性別 [assumed, DOMAIN.md]: `1` male, `2` female. No other code is accepted. */
export const SEX_CODES = { '1': 'male (男)', '2': 'female (女)' } as const;
export type SexCode = keyof typeof SEX_CODES;
export const checkSex: Check<unknown> = (v) => (v === '1' || v === '2' ? undefined : 'sex.code: expected "1" (male) or "2" (female)');

export const checkMyNumber: Check<unknown> = (v) => {
  if (typeof v !== 'string' || !/^[0-9]{12}$/.test(v)) return 'myNumber.format: expected 12 digits (個人番号)';
  return isValidMyNumber(v) ? undefined : 'myNumber.checkDigit: check digit does not match (個人番号)';
};

/** 住民票コード: 11 digits; the check digit formula is [assumed], so `checkDigit` is a config switch. */
export function residentCodeCheck(opts: { checkDigit: boolean }): Check<unknown> {
  return (v) => {
    if (typeof v !== 'string' || !/^[0-9]{11}$/.test(v)) return 'residentCode.format: expected 11 digits (住民票コード)';
    return !opts.checkDigit || isValidResidentCode(v, true)
      ? undefined
      : 'residentCode.checkDigit: check digit does not match (住民票コード)';
  };
}

export interface LgCodeSets {
  /** Codes that exist: a set, or a predicate answering false only for codes known not to exist. Absent → not checked. */
  known?: ReadonlySet<string> | ((code: string) => boolean);
  /** Codes this installation serves; absent → not checked. */
  served?: ReadonlySet<string>;
  /** Accept a prefecture's own code (xx000c); message fields that name a municipality do not. */
  allowPrefecture?: boolean;
}

/** 全国地方公共団体コード: format, check digit, municipality (not prefecture), then known and served tables. */
export function lgCodeCheck(sets: LgCodeSets = {}): Check<unknown> {
  const known = sets.known;
  const isKnown = known === undefined ? undefined : typeof known === 'function' ? known : (c: string) => known.has(c);
  return (v) => {
    if (typeof v !== 'string' || !/^[0-9]{6}$/.test(v)) return 'lgCode.format: expected 6 digits (全国地方公共団体コード)';
    if (!isValidLgCode(v)) return 'lgCode.checkDigit: check digit does not match (全国地方公共団体コード)';
    if (!sets.allowPrefecture && isPrefectureCode(v)) return `lgCode.prefecture: ${v} is a prefecture's code, not a municipality's`;
    if (isKnown && !isKnown(v)) return `lgCode.unknown: ${v} is not a known municipality code`;
    if (sets.served && !sets.served.has(v)) return `lgCode.notServed: ${v} is not served by this installation`;
    return undefined;
  };
}

/** 郵便番号: 7 digits, with or without the hyphen after the third. */
export const checkPostcode: Check<unknown> = (v) =>
  typeof v === 'string' && /^[0-9]{3}-?[0-9]{4}$/.test(v) ? undefined : 'postcode.format: expected NNN-NNNN or NNNNNNN (郵便番号)';

export function dateCheck(rules: DateRules, field = 'date'): Check<unknown> {
  return (v) => {
    if (typeof v !== 'string') return `${field}.format: expected a string`;
    const r = parseDate(v, rules);
    return r.ok ? undefined : r.problem;
  };
}

// ---- character sets ------------------------------------------------------------------------

const inRanges = (cp: number, ranges: readonly (readonly [number, number])[]): boolean => ranges.some(([a, b]) => cp >= a && cp <= b);

/** CJK unified ideographs (basic, Ext A–I) and compatibility ideographs. */
const IDEOGRAPHS = [
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xf900, 0xfaff],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2ee5f],
  [0x2f800, 0x2fa1f],
  [0x30000, 0x323af],
] as const;
/** 々 〆 〇 */
const IDEOGRAPHIC_MARKS = [[0x3005, 0x3007]] as const;
const HIRAGANA = [
  [0x3041, 0x3096],
  [0x309d, 0x309e],
] as const;
/** Katakana incl. ヵヶ, ・ (separator in foreign names written in kana), ー, ヽヾ. */
const KATAKANA = [
  [0x30a1, 0x30fa],
  [0x30fb, 0x30fe],
] as const;
const HALFWIDTH_KATAKANA = [[0xff66, 0xff9f]] as const;
const LATIN = [
  [0x41, 0x5a],
  [0x61, 0x7a],
  [0xff21, 0xff3a],
  [0xff41, 0xff5a],
] as const;
/** Foreign names: O'BRIEN, JEAN-PAUL, JR. */
const NAME_PUNCTUATION = [
  [0x27, 0x27],
  [0x2d, 0x2e],
] as const;
const SPACES = [
  [0x20, 0x20],
  [0x3000, 0x3000],
] as const;
const VARIATION_SELECTORS = [
  [0xfe00, 0xfe0f],
  [0xe0100, 0xe01ef],
] as const;

// Characters that render as nothing or reorder the text around them (U+202E shows "津市" as "市津"): two
// stored values that look the same, or a value displayed other than it is. Unicode Cf, every
// default-ignorable code point (Hangul fillers, U+034F...) and the line/paragraph separators.
const BIDI_CONTROL = /\p{Bidi_Control}/u;
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]/u;

function describeForbidden(cp: number): string {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 'control character';
  if (cp >= 0xd800 && cp <= 0xdfff) return 'unpaired surrogate';
  if (
    inRanges(cp, [
      [0xe000, 0xf8ff],
      [0xf0000, 0xffffd],
      [0x100000, 0x10fffd],
    ])
  )
    return 'private-use character';
  if ((cp & 0xfffe) === 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef)) return 'noncharacter';
  const ch = String.fromCodePoint(cp);
  if (BIDI_CONTROL.test(ch)) return 'bidi control';
  if (inRanges(cp, VARIATION_SELECTORS)) return 'variation selector';
  if (INVISIBLE.test(ch)) return 'invisible or format character';
  return 'character';
}

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** 住基ネット統一文字 outside Unicode, written literally `J+` + 4 upper-case hex digits, never mapped. */
const J_CODE = /J\+[0-9A-F]{4}/y;

/**
 * Walks a string by code point (so astral ideographs and lone surrogates are seen as they are) and
 * reports the first character outside `allowed`.
 */
function checkChars(
  value: string,
  rule: string,
  allowed: (cp: number, prev: number | undefined) => boolean,
  jCodes: boolean,
): Problem | undefined {
  let pos = 0;
  let prev: number | undefined;
  for (let i = 0; i < value.length;) {
    if (jCodes && value.startsWith('J+', i)) {
      J_CODE.lastIndex = i;
      if (!J_CODE.test(value)) return `${rule}: "J+" at position ${pos} must be followed by 4 upper-case hex digits (住基ネット統一文字)`;
      i += 6;
      pos++;
      prev = undefined;
      continue;
    }
    const cp = value.codePointAt(i)!;
    if (!allowed(cp, prev)) {
      const what = describeForbidden(cp);
      return `${rule}: ${hex(cp)} (${what}) is not allowed at position ${pos}`;
    }
    prev = cp;
    i += cp > 0xffff ? 2 : 1;
    pos++;
  }
  return undefined;
}

export const NAME_MAX = 100;

/**
 * 氏名 / 旧氏 / 通称: kanji (CJK incl. extensions), 々〆〇, kana, Latin letters for foreign names,
 * spaces, ideographic variation selectors after an ideograph, and `J+xxxx` tokens.
 */
export function nameCheck(rule = 'name'): Check<unknown> {
  return (v) => {
    if (typeof v !== 'string') return `${rule}.format: expected a string`;
    if (v.trim() === '' || v.replace(/[\u3000 ]/g, '') === '') return `${rule}.empty: must not be empty`;
    if ([...v].length > NAME_MAX) return `${rule}.length: at most ${NAME_MAX} characters`;
    return checkChars(
      v,
      `${rule}.charset`,
      (cp, prev) =>
        inRanges(cp, IDEOGRAPHS) ||
        inRanges(cp, IDEOGRAPHIC_MARKS) ||
        inRanges(cp, HIRAGANA) ||
        inRanges(cp, KATAKANA) ||
        inRanges(cp, LATIN) ||
        inRanges(cp, NAME_PUNCTUATION) ||
        inRanges(cp, SPACES) ||
        (inRanges(cp, VARIATION_SELECTORS) && prev !== undefined && inRanges(prev, IDEOGRAPHS)),
      true,
    );
  };
}

/** 振り仮名: katakana or hiragana (full or half width), ー, ・, spaces. */
export function kanaCheck(rule = 'kana'): Check<unknown> {
  return (v) => {
    if (typeof v !== 'string') return `${rule}.format: expected a string`;
    if (v.replace(/[\u3000 ]/g, '') === '') return `${rule}.empty: must not be empty`;
    if ([...v].length > NAME_MAX) return `${rule}.length: at most ${NAME_MAX} characters`;
    return checkChars(
      v,
      `${rule}.charset`,
      (cp) => inRanges(cp, HIRAGANA) || inRanges(cp, KATAKANA) || inRanges(cp, HALFWIDTH_KATAKANA) || inRanges(cp, SPACES),
      false,
    );
  };
}

export const ADDRESS_MAX = 200;

/**
 * 住所: free text, but no control, private-use, broken, invisible or bidi characters; variation selectors
 * only after an ideograph (異体字 of place names); `J+xxxx` allowed as in names.
 */
export const checkAddress: Check<unknown> = (v) => {
  if (typeof v !== 'string') return 'address.format: expected a string';
  if (v.trim() === '') return 'address.empty: must not be empty';
  if ([...v].length > ADDRESS_MAX) return `address.length: at most ${ADDRESS_MAX} characters`;
  return checkChars(
    v,
    'address.charset',
    (cp, prev) => {
      const kind = describeForbidden(cp);
      return kind === 'character' || (kind === 'variation selector' && prev !== undefined && inRanges(prev, IDEOGRAPHS));
    },
    true,
  );
};

/** Operator's duty code (事務コード): the reason a search is made; logged with every search. */
export const checkDutyCode: Check<unknown> = (v) =>
  typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/.test(v)
    ? undefined
    : 'dutyCode.format: expected 1-16 characters of A-Z a-z 0-9 _ - (事務コード)';

export function idCheck(rule: string): Check<unknown> {
  return (v) =>
    typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(v)
      ? undefined
      : `${rule}.format: expected 1-64 characters of A-Z a-z 0-9 . _ : -`;
}

/** 処理通番: opaque ASCII ≤ 32; by law never a My Number or 住民票コード (番号法 §21-2). */
export const checkSerialNo: Check<unknown> = (v) => {
  if (typeof v !== 'string' || !/^[\x21-\x7e]{1,32}$/.test(v))
    return 'serialNo.format: expected 1-32 printable ASCII characters (処理通番)';
  if (/^[0-9]{12}$/.test(v) && isValidMyNumber(v)) return 'serialNo.notMyNumber: a processing serial number must not be a My Number';
  if (/^[0-9]{11}$/.test(v)) return 'serialNo.notResidentCode: a processing serial number must not look like a 住民票コード';
  return undefined;
};
