// Search keys for names and addresses [assumed method]. Stored values stay exactly as given; these
// keys are what the secondary indexes hold, so writers and searchers must build them with the same
// functions. Keys are deliberately lossy (they match variants), never shown to anyone.
import { KANJI_VARIANTS } from './kanjiVariants.js';

/** Ideographic variation selectors (IVS) and standard variation selectors: glyph choice only. */
const VARIATION_SELECTORS = /[\uFE00-\uFE0F]|\uDB40[\uDD00-\uDDEF]/g;
const SPACES = /[\u0020\u3000]/g;

function foldKanji(s: string, table: Readonly<Record<string, string>>): string {
  let out = '';
  for (const ch of s) out += table[ch] ?? ch;
  return out;
}

/**
 * Kanji name key: NFKC (compatibility ideographs, full-width Latin, half-width kana), variation
 * selectors dropped, variant kanji folded (髙→高, 﨑→崎 …), ヶ/ヵ→ケ/カ, spaces dropped, Latin upper-cased.
 * `J+xxxx` tokens pass through untouched (they are ASCII and never mapped to Unicode).
 */
export function kanjiNameKey(name: string, table: Readonly<Record<string, string>> = KANJI_VARIANTS): string {
  const s = name.normalize('NFKC').replace(VARIATION_SELECTORS, '');
  return foldKanji(s, table).replace(/ヶ/g, 'ケ').replace(/ヵ/g, 'カ').replace(SPACES, '').toUpperCase();
}

const SMALL_KANA: Readonly<Record<string, string>> = {
  ァ: 'ア',
  ィ: 'イ',
  ゥ: 'ウ',
  ェ: 'エ',
  ォ: 'オ',
  ッ: 'ツ',
  ャ: 'ヤ',
  ュ: 'ユ',
  ョ: 'ヨ',
  ヮ: 'ワ',
  ヵ: 'カ',
  ヶ: 'ケ',
  ㇰ: 'ク',
  ㇱ: 'シ',
  ㇲ: 'ス',
  ㇳ: 'ト',
  ㇴ: 'ヌ',
  ㇵ: 'ハ',
  ㇶ: 'ヒ',
  ㇷ: 'フ',
  ㇸ: 'ヘ',
  ㇹ: 'ホ',
  ㇺ: 'ム',
  ㇻ: 'ラ',
  ㇼ: 'リ',
  ㇽ: 'ル',
  ㇾ: 'レ',
  ㇿ: 'ロ',
};

/** Hiragana → katakana (ぁ..ゖ and ゝゞ shift by 0x60); other characters unchanged. */
export function toKatakana(s: string): string {
  return s.replace(/[\u3041-\u3096\u309D\u309E]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
}

/**
 * Kana reading key: NFKC (half-width → full-width), hiragana → katakana, spaces and ・ dropped,
 * 清音化 (every dakuten/handakuten removed: ガ→カ, パ→ハ, ヴ→ウ), small kana enlarged (ッ→ツ, ャ→ヤ, ァ→ア),
 * iteration marks ヽヾ expanded to the preceding kana. The long vowel ー is KEPT (it is part of the
 * reading: オーノ and オオノ are different keys); only its look-alikes (－ ― ‐ ‑ – — −) become ー.
 */
export function kanaNameKey(kana: string): string {
  const s = toKatakana(kana.normalize('NFKC'))
    .replace(/[\u0020\u3000\u30FB]/g, '')
    .replace(/[-\u2010-\u2015\u2212\uFF0D]/g, 'ー')
    .normalize('NFD')
    .replace(/[\u3099\u309A]/g, '')
    .replace(/[\u309B\u309C]/g, '');
  let out = '';
  for (const ch of s) {
    if (ch === 'ヽ' || ch === 'ヾ') {
      out += [...out].pop() ?? '';
      continue;
    }
    out += SMALL_KANA[ch] ?? ch;
  }
  return out.normalize('NFC');
}

/** Name fields of an identity record that feed the name index. */
export interface NameFields {
  name: string;
  nameKana?: string | null;
  /** 旧氏: former surname, indexed as an alternate name together with the given name. */
  formerSurname?: string | null;
  formerSurnameKana?: string | null;
  /** 通称: alias (foreign residents), indexed as an alternate name. */
  alias?: string | null;
  aliasKana?: string | null;
}

/** Prefixes keep kanji keys and kana keys apart inside one index. */
export const NAME_KEY_PREFIX = { kanji: 'k:', kana: 'r:' } as const;

/** Given name = everything after the first space (U+0020 or U+3000) of 氏名; undefined if none. */
export function givenNameOf(fullName: string): string | undefined {
  const m = /[\u0020\u3000]+(.+)$/u.exec(fullName.trim());
  return m ? m[1] : undefined;
}

/** 旧氏 + given name (or 旧氏 alone when 氏名 has no surname/given separator). */
function withFormerSurname(former: string, full: string | null | undefined): string {
  const given = full ? givenNameOf(full) : undefined;
  return given ? `${former} ${given}` : former;
}

/**
 * Every name key of a record: main name, 旧氏 + given name, 通称 — each as a kanji key and (when the
 * reading is known) a kana key. Deduplicated, order stable (main name first).
 */
export function nameKeys(r: NameFields): string[] {
  const keys: string[] = [];
  const add = (prefix: string, key: string): void => {
    if (key !== '' && !keys.includes(prefix + key)) keys.push(prefix + key);
  };
  add(NAME_KEY_PREFIX.kanji, kanjiNameKey(r.name));
  if (r.nameKana) add(NAME_KEY_PREFIX.kana, kanaNameKey(r.nameKana));
  if (r.formerSurname) add(NAME_KEY_PREFIX.kanji, kanjiNameKey(withFormerSurname(r.formerSurname, r.name)));
  if (r.formerSurnameKana) add(NAME_KEY_PREFIX.kana, kanaNameKey(withFormerSurname(r.formerSurnameKana, r.nameKana)));
  if (r.alias) add(NAME_KEY_PREFIX.kanji, kanjiNameKey(r.alias));
  if (r.aliasKana) add(NAME_KEY_PREFIX.kana, kanaNameKey(r.aliasKana));
  return keys;
}

/** The key a searcher looks up: a name in characters, or a kana reading. */
export function nameQueryKey(q: { name?: string; kana?: string }): string | undefined {
  if (q.name) return NAME_KEY_PREFIX.kanji + kanjiNameKey(q.name);
  if (q.kana) return NAME_KEY_PREFIX.kana + kanaNameKey(q.kana);
  return undefined;
}

// ---- addresses --------------------------------------------------------------------------------

const KANJI_DIGIT: Readonly<Record<string, number>> = { 〇: 0, 零: 0, 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const KANJI_UNIT: Readonly<Record<string, number>> = { 十: 10, 百: 100, 千: 1000 };

/** 二十三 → 23, 百五 → 105, 千二百 → 1200, 十 → 10; 二〇三 / 一一 (digit by digit) → 203 / 11. */
export function kanjiNumeral(s: string): number {
  if (![...s].some((c) => c in KANJI_UNIT)) return Number([...s].map((c) => KANJI_DIGIT[c]).join(''));
  let total = 0;
  let digit: number | undefined;
  for (const c of s) {
    if (c in KANJI_UNIT) {
      total += (digit ?? 1) * KANJI_UNIT[c]!;
      digit = undefined;
    } else digit = (digit ?? 0) * 10 + KANJI_DIGIT[c]!;
  }
  return total + (digit ?? 0);
}

/**
 * Address key: NFKC (full-width digits/letters), spaces dropped, variant kanji folded, kanji
 * numerals → digits (also inside place names: 四日市 → 4日市, consistently on both sides),
 * 丁目/番地/番/号 and every dash form (− ‐ – — ― －, and ー after a digit) → one `-`, digit の/之/ノ digit → `-`,
 * ケ/ヶ/が/ヵ → ケ, の/之 → ノ, repeated and trailing `-` collapsed, Latin upper-cased.
 * `津市西丸之内２３番１号` and `津市西丸之内23-1` give the same key.
 */
export function addressKey(address: string, table: Readonly<Record<string, string>> = KANJI_VARIANTS): string {
  let s = foldKanji(address.normalize('NFKC').replace(VARIATION_SELECTORS, ''), table).replace(SPACES, '');
  s = s.replace(/[〇零一二三四五六七八九十百千]+/g, (m) => String(kanjiNumeral(m)));
  s = s.replace(/[\u2010-\u2015\u2212\uFE63\uFF0D]/g, '-').replace(/(\d)ー/g, '$1-');
  s = s.replace(/(\d)(?:丁目|番地|番|号)/g, '$1-').replace(/(\d)[の之ノ](?=\d)/g, '$1-');
  s = s.replace(/[ヶがヵ]/g, 'ケ').replace(/[の之]/g, 'ノ');
  return s.replace(/-+/g, '-').replace(/-$/, '').toUpperCase();
}

/** Secondary-index keys of one identity record (the identity store writes these beside the record). */
export interface IndexKeys {
  /** 個人番号, exact. */
  myNumber?: string;
  /** nameKeys(record): kanji and kana keys of 氏名, 旧氏 + given name, 通称. */
  names: string[];
  /** 生年月日 as stored (may hold 00 parts); pair with names (see dates.ts datesCompatible). */
  birthDate?: string;
  /** addressKey(住所). */
  address?: string;
}

export function indexKeysOf(r: NameFields & { myNumber?: string | null; birthDate?: string | null; address?: string | null }): IndexKeys {
  const out: IndexKeys = { names: nameKeys(r) };
  if (r.myNumber) out.myNumber = r.myNumber;
  if (r.birthDate) out.birthDate = r.birthDate;
  if (r.address) out.address = addressKey(r.address);
  return out;
}
