// Search keys the identity store indexes. [local] folding until gateway/domain/searchKeys.ts lands;
// the store only calls recordNameKeys / queryNameKey / queryKanaKey / addressKey.
import { createHmac } from 'node:crypto';
import type { IdentityRecord } from './identityStoreTypes.js';

// Common 異体字 folded to the form most registers use (DOMAIN.md "Names and addresses").
const KANJI_VARIANTS: Record<string, string> = {
  '髙': '高', '﨑': '崎', '嵜': '崎', '邉': '辺', '邊': '辺', '齋': '斉', '齊': '斉', '斎': '斉', '濱': '浜',
  '澤': '沢', '櫻': '桜', '廣': '広', '嶋': '島', '嶌': '島', '德': '徳', '眞': '真', '國': '国', '冨': '富',
  '惠': '恵', '龍': '竜', '壽': '寿', '增': '増', '瀨': '瀬', '豐': '豊', '實': '実', '條': '条', '會': '会',
  '槇': '槙', '淺': '浅', '檜': '桧', '鷗': '鴎', '邨': '村', '關': '関', '舘': '館', '驛': '駅', '榮': '栄',
  '藏': '蔵', '齒': '歯', '晉': '晋', '將': '将', '團': '団', '勳': '勲', '萬': '万', '瀧': '滝', '莊': '荘',
};
const SPACES = /[\u0020\u3000\t]/g;
const SMALL_KANA: Record<string, string> = {
  'ァ': 'ア', 'ィ': 'イ', 'ゥ': 'ウ', 'ェ': 'エ', 'ォ': 'オ', 'ッ': 'ツ', 'ャ': 'ヤ', 'ュ': 'ユ', 'ョ': 'ヨ',
  'ヮ': 'ワ', 'ヵ': 'カ', 'ヶ': 'ケ',
};

export function foldKanjiName(name: string): string {
  let out = '';
  for (const ch of name.normalize('NFKC').replace(SPACES, '')) out += KANJI_VARIANTS[ch] ?? ch;
  return out;
}

/** Hiragana → katakana, half-width → full-width (NFKC), spaces dropped. */
export function toKatakana(kana: string): string {
  let out = '';
  for (const ch of kana.normalize('NFKC').replace(SPACES, '')) {
    const c = ch.charCodeAt(0);
    out += c >= 0x3041 && c <= 0x3096 ? String.fromCharCode(c + 0x60) : ch;
  }
  return out;
}

/** 清音化 + small kana enlarged: the lenient key a counter operator's spelling still hits. */
export function kanaSearchKey(kana: string): string {
  const k = toKatakana(kana).normalize('NFD').replace(/[\u3099\u309a]/g, '').normalize('NFC');
  let out = '';
  for (const ch of k) out += SMALL_KANA[ch] ?? ch;
  return out;
}

const KANJI_DIGITS: Record<string, number> = { '〇': 0, '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9 };

function kanjiNumber(s: string): string {
  if (/^[〇一二三四五六七八九]+$/.test(s) && !/[十百千]/.test(s) && s.length > 1) {
    return [...s].map((c) => KANJI_DIGITS[c]).join('');
  }
  let total = 0, cur = 0;
  for (const c of s) {
    if (c in KANJI_DIGITS) cur = KANJI_DIGITS[c]!;
    else {
      const mult = c === '十' ? 10 : c === '百' ? 100 : 1000;
      total += (cur || 1) * mult;
      cur = 0;
    }
  }
  return String(total + cur);
}

const PREFECTURE = /^(東京都|北海道|京都府|大阪府|[^\d\s]{2,3}県)(?=.)/;

/** Normalised address: prefecture dropped, kanji numerals → digits, 丁目/番地/番/号 → hyphens, ケ folded. */
export function addressKey(address: string): string {
  let a = address.normalize('NFKC').replace(SPACES, '');
  a = a.replace(PREFECTURE, '');
  a = a.replace(/[〇一二三四五六七八九十百千]+(?=丁目|番地|番|号|-|$)/g, (m) => kanjiNumber(m));
  a = a.replace(/[‐‑‒–—―−ー－]/g, (m, off: number) => (/\d/.test(a[off - 1] ?? '') ? '-' : m));
  a = a.replace(/(\d+)丁目/g, '$1-').replace(/(\d+)番地?/g, '$1-').replace(/(\d+)号/g, '$1');
  a = a.replace(/[ヶヵがガ]/g, 'ケ');
  return a.replace(/-+/g, '-').replace(/-$/, '');
}

/** Index keys for a record's names: main name, 旧氏 + given name, 通称; kanji and kana forms. */
export function recordNameKeys(r: Pick<IdentityRecord, 'name' | 'kana' | 'formerSurname' | 'formerSurnameKana' | 'alias' | 'aliasKana'>): string[] {
  const keys = new Set<string>([queryNameKey(r.name), queryKanaKey(r.kana)]);
  if (r.formerSurname) keys.add(queryNameKey(r.formerSurname + givenPart(r.name)));
  if (r.formerSurnameKana) keys.add(queryKanaKey(r.formerSurnameKana + givenPart(r.kana)));
  if (r.alias) keys.add(queryNameKey(r.alias));
  if (r.aliasKana) keys.add(queryKanaKey(r.aliasKana));
  return [...keys];
}

function givenPart(full: string): string {
  const i = full.search(/[\u0020\u3000]/);
  return i < 0 ? '' : full.slice(i + 1);
}

export const queryNameKey = (name: string): string => 'n:' + foldKanjiName(name);
export const queryKanaKey = (kana: string): string => 'k:' + kanaSearchKey(kana);

/**
 * Keyed hash for index keys: nothing personal appears in clear in a LevelDB key. 128 bits of
 * HMAC-SHA-256 under the per-installation index key (base64url, 22 characters).
 */
export function indexHash(indexKey: Uint8Array, value: string): string {
  return createHmac('sha256', indexKey).update(value).digest('base64url').slice(0, 22);
}
