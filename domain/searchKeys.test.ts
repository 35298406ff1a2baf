import { describe, expect, it } from 'vitest';
import { KANJI_VARIANTS } from './kanjiVariants.js';
import {
  addressKey,
  givenNameOf,
  indexKeysOf,
  kanaNameKey,
  kanjiNameKey,
  kanjiNumeral,
  nameKeys,
  nameQueryKey,
  toKatakana,
} from './searchKeys.js';

describe('kanji name key', () => {
  it('folds the common variants and drops spaces', () => {
    expect(kanjiNameKey('髙橋\u3000一郎')).toBe(kanjiNameKey('高橋 一郎'));
    expect(kanjiNameKey('山﨑 太郎')).toBe('山崎太郎');
    for (const v of ['渡邉', '渡邊', '渡辺']) expect(kanjiNameKey(v)).toBe('渡辺');
    for (const v of ['齋藤', '齊藤', '斎藤', '斉藤']) expect(kanjiNameKey(v)).toBe('斉藤');
    expect(kanjiNameKey('濱田 澤子')).toBe('浜田沢子');
    expect(kanjiNameKey('櫻井 廣 眞德')).toBe('桜井広真徳');
  });
  it('applies NFKC (compatibility ideographs, full-width Latin) and drops variation selectors', () => {
    expect(kanjiNameKey('\uFA19田')).toBe('神田'); // U+FA19 compatibility 神
    expect(kanjiNameKey('ＳＭＩＴＨ john')).toBe('SMITHJOHN');
    expect(kanjiNameKey('葛\u{E0100}城')).toBe('葛城');
    expect(kanjiNameKey('一ヶ谷')).toBe(kanjiNameKey('一ケ谷'));
  });
  it('keeps J+ codes as literal tokens', () => {
    expect(kanjiNameKey('鈴木 J+AC00子')).toBe('鈴木J+AC00子');
  });
  it('the variant table is a function onto standard forms (folding is idempotent)', () => {
    for (const [from, to] of Object.entries(KANJI_VARIANTS)) {
      expect(from).not.toBe(to);
      expect(to in KANJI_VARIANTS, to).toBe(false);
      expect(kanjiNameKey(kanjiNameKey(from))).toBe(kanjiNameKey(from));
      expect(from.normalize('NFKC'), `${from} must survive NFKC to be folded by the table`).toBe(from);
    }
    expect(Object.keys(KANJI_VARIANTS).length).toBeGreaterThanOrEqual(40);
  });
});

describe('kana key', () => {
  it('hiragana → katakana, half-width → full-width', () => {
    expect(toKatakana('やまだ ゝ')).toBe('ヤマダ ヽ');
    expect(kanaNameKey('やまだ たろう')).toBe(kanaNameKey('ヤマダ タロウ'));
    expect(kanaNameKey('ﾔﾏﾀﾞ ﾀﾛｳ')).toBe(kanaNameKey('ヤマダ　タロウ'));
  });
  it('清音化 and small kana enlargement', () => {
    expect(kanaNameKey('ガ')).toBe('カ');
    expect(kanaNameKey('パ')).toBe('ハ');
    expect(kanaNameKey('ヴ')).toBe('ウ');
    expect(kanaNameKey('ゔぁ')).toBe('ウア');
    expect(kanaNameKey('ハットリ')).toBe('ハツトリ');
    expect(kanaNameKey('キャ キュ キョ')).toBe('キヤキユキヨ');
    expect(kanaNameKey('ヷ')).toBe('ワ');
    expect(kanaNameKey('ジョン・スミス')).toBe('シヨンスミス');
    expect(kanaNameKey('サヽキ')).toBe('ササキ');
    expect(kanaNameKey('ｼﾞｮﾝ')).toBe('シヨン');
  });
  it('every voiced/semi-voiced katakana folds to its plain form', () => {
    for (let cp = 0x30a1; cp <= 0x30fa; cp++) {
      const ch = String.fromCodePoint(cp);
      const key = kanaNameKey(ch);
      expect(key.normalize('NFD')).not.toMatch(/[\u3099\u309A]/);
      expect(kanaNameKey(key)).toBe(key);
      expect(kanaNameKey(String.fromCodePoint(cp - 0x60 >= 0x3041 && cp <= 0x30f6 ? cp - 0x60 : cp))).toBe(key);
    }
  });
  it('keeps the long vowel and folds its look-alikes', () => {
    expect(kanaNameKey('オーノ')).toBe('オーノ');
    expect(kanaNameKey('オーノ')).not.toBe(kanaNameKey('オオノ'));
    expect(kanaNameKey('オ－ノ')).toBe('オーノ');
    expect(kanaNameKey('ｵｰﾉ')).toBe('オーノ');
  });
});

describe('nameKeys', () => {
  it('indexes main name, 旧氏 + given name and 通称, kanji and kana', () => {
    expect(
      nameKeys({
        name: '髙橋\u3000花子',
        nameKana: 'タカハシ　ハナコ',
        formerSurname: '山﨑',
        formerSurnameKana: 'ヤマザキ',
        alias: 'ジョーンズ',
        aliasKana: 'ジョーンズ',
      }),
    ).toEqual(['k:高橋花子', 'r:タカハシハナコ', 'k:山崎花子', 'r:ヤマサキハナコ', 'k:ジョーンズ', 'r:シヨーンス']);
  });
  it('deduplicates and skips absent fields', () => {
    expect(nameKeys({ name: '高橋 花子', alias: '髙橋 花子' })).toEqual(['k:高橋花子']);
    expect(nameKeys({ name: '山田', formerSurname: '佐藤' })).toEqual(['k:山田', 'k:佐藤']);
  });
  it('query keys hit the index keys', () => {
    const keys = nameKeys({ name: '渡邉 一', nameKana: 'ワタナベ ハジメ', formerSurname: '齋藤' });
    expect(keys).toContain(nameQueryKey({ name: '渡辺一' }));
    expect(keys).toContain(nameQueryKey({ kana: 'わたなべはじめ' }));
    expect(keys).toContain(nameQueryKey({ name: '斎藤 一' }));
    expect(nameQueryKey({})).toBeUndefined();
  });
  it('splits the given name at the first space', () => {
    expect(givenNameOf('山田\u3000太郎')).toBe('太郎');
    expect(givenNameOf('SMITH JOHN PAUL')).toBe('JOHN PAUL');
    expect(givenNameOf('山田')).toBeUndefined();
  });
});

describe('address key', () => {
  it("the brief's example: 23番1号 = 23-1", () => {
    expect(addressKey('津市西丸之内２３番１号')).toBe(addressKey('津市西丸之内23-1'));
    expect(addressKey('津市西丸之内23-1')).toBe('津市西丸ノ内23-1');
  });
  it('kanji numerals, 丁目/番地/号 and all hyphen forms give one key', () => {
    const key = addressKey('横浜市中区本町6-50-10');
    for (const v of [
      '横浜市中区本町六丁目五十番地十',
      '横浜市中区本町6丁目50番10号',
      '横浜市中区本町６－５０－１０',
      '横浜市中区本町6−50−10',
      '横浜市中区本町6‐50‐10',
      '横浜市中区本町6ー50ー10',
      '横浜市中区本町6—50—10',
      '横浜市 中区 本町 6-50-10',
      '横浜市中区本町6の50の10',
    ]) {
      expect(addressKey(v), v).toBe(key);
    }
  });
  it('ケ/ヶ/が fold, variant kanji fold', () => {
    expect(addressKey('千代田区霞が関1-2-1')).toBe(addressKey('千代田区霞ヶ関一丁目二番一号'));
    expect(addressKey('千代田区霞ケ関1-2-1')).toBe(addressKey('千代田区霞ヶ関1-2-1'));
    expect(addressKey('髙島町')).toBe(addressKey('高島町'));
  });
  it('keeps katakana long vowels in building names', () => {
    expect(addressKey('津市西丸之内23-1 コーポ101')).toBe('津市西丸ノ内23-1コーポ101');
  });
  it('parses kanji numerals', () => {
    const cases: [string, number][] = [
      ['一', 1],
      ['十', 10],
      ['十一', 11],
      ['二十三', 23],
      ['百', 100],
      ['百五', 105],
      ['三百二十一', 321],
      ['千二百', 1200],
      ['二〇三', 203],
      ['一一', 11],
      ['九千九百九十九', 9999],
    ];
    for (const [k, n] of cases) expect(kanjiNumeral(k), k).toBe(n);
    const digits = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    const spell = (n: number): string => {
      const parts: string[] = [];
      for (const [u, k] of [
        [1000, '千'],
        [100, '百'],
        [10, '十'],
      ] as const) {
        const q = Math.floor(n / u) % 10;
        if (q) parts.push((q === 1 ? '' : digits[q]!) + k);
      }
      if (n % 10) parts.push(digits[n % 10]!);
      return parts.join('');
    };
    for (let n = 1; n < 10000; n++) expect(kanjiNumeral(spell(n))).toBe(n);
  });
});

describe('indexKeysOf', () => {
  it('bundles the secondary-index keys of a record', () => {
    expect(
      indexKeysOf({
        name: '髙橋 花子',
        nameKana: 'タカハシ ハナコ',
        myNumber: '123456789018',
        birthDate: '1989-01-07',
        address: '津市西丸之内２３番１号',
      }),
    ).toEqual({
      names: ['k:高橋花子', 'r:タカハシハナコ'],
      myNumber: '123456789018',
      birthDate: '1989-01-07',
      address: '津市西丸ノ内23-1',
    });
    expect(indexKeysOf({ name: '山田' })).toEqual({ names: ['k:山田'] });
  });
});
