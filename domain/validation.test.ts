import { describe, expect, it } from 'vitest';
import { lgCodeCheckDigit, myNumberCheckDigit, residentCodeCheckDigit } from './identifiers.js';
import {
  checkAddress,
  checkDutyCode,
  checkMyNumber,
  checkPostcode,
  checkSerialNo,
  checkSex,
  dateCheck,
  idCheck,
  kanaCheck,
  lgCodeCheck,
  nameCheck,
  residentCodeCheck,
  validate,
} from './validation.js';

describe('validate', () => {
  it('returns the first failing rule with the field path', () => {
    expect(validate('body.myNumber', '983205673210', checkMyNumber)).toEqual([
      { path: 'body.myNumber', problem: 'myNumber.checkDigit: check digit does not match (個人番号)' },
    ]);
    expect(validate('body.myNumber', '123456789018', checkMyNumber)).toEqual([]);
  });
});

describe('個人番号', () => {
  it('accepts exactly one check digit per body over a spread of bodies', () => {
    for (let i = 0; i < 2000; i++) {
      const body = String((i * 7_919_113_017) % 1e11).padStart(11, '0');
      const good = String(myNumberCheckDigit(body));
      for (const d of '0123456789') {
        expect(checkMyNumber(body + d)).toBe(d === good ? undefined : 'myNumber.checkDigit: check digit does not match (個人番号)');
      }
    }
  });
  it('rejects the format with its rule', () => {
    for (const v of ['12345678901', '1234567890123', '12345678901a', '１２３４５６７８９０１８', 12, null]) {
      expect(checkMyNumber(v)).toBe('myNumber.format: expected 12 digits (個人番号)');
    }
  });
});

describe('住民票コード', () => {
  it('checks the digit only when the switch is on', () => {
    const on = residentCodeCheck({ checkDigit: true });
    const off = residentCodeCheck({ checkDigit: false });
    for (let i = 0; i < 1000; i++) {
      const body = String((i * 104_729_381) % 1e10).padStart(10, '0');
      const good = String(residentCodeCheckDigit(body));
      for (const d of '0123456789') {
        expect(on(body + d)).toBe(d === good ? undefined : 'residentCode.checkDigit: check digit does not match (住民票コード)');
        expect(off(body + d)).toBeUndefined();
      }
    }
    expect(off('1234567890')).toBe('residentCode.format: expected 11 digits (住民票コード)');
  });
});

describe('全国地方公共団体コード', () => {
  it('checks every one of the 100000 bodies: one check digit each', () => {
    const check = lgCodeCheck();
    let accepted = 0;
    for (let n = 0; n < 100_000; n++) {
      const body = String(n).padStart(5, '0');
      if (body.endsWith('000')) continue; // prefecture codes: see below
      const good = lgCodeCheckDigit(body);
      expect(check(body + good)).toBeUndefined();
      expect(check(body + ((good + 1) % 10))).toBe('lgCode.checkDigit: check digit does not match (全国地方公共団体コード)');
      accepted++;
    }
    expect(accepted).toBe(100_000 - 100);
    expect(check('240001')).toBe("lgCode.prefecture: 240001 is a prefecture's code, not a municipality's");
    expect(lgCodeCheck({ allowPrefecture: true })('240001')).toBeUndefined();
  });
  it('applies the known and served tables', () => {
    const check = lgCodeCheck({ known: new Set(['242012', '242021']), served: new Set(['242012']) });
    expect(check('242012')).toBeUndefined();
    expect(check('242021')).toBe('lgCode.notServed: 242021 is not served by this installation');
    expect(check('131016')).toBe('lgCode.unknown: 131016 is not a known municipality code');
    expect(check('24201')).toBe('lgCode.format: expected 6 digits (全国地方公共団体コード)');
    const byPredicate = lgCodeCheck({ known: (c) => c !== '242195' });
    expect(byPredicate('242195')).toBe('lgCode.unknown: 242195 is not a known municipality code');
    expect(byPredicate('131016')).toBeUndefined();
  });
});

describe('sex, postcode, duty code, ids, serial numbers', () => {
  it('sex codes are "1" and "2" only', () => {
    expect(checkSex('1')).toBeUndefined();
    expect(checkSex('2')).toBeUndefined();
    for (const v of ['0', '3', '9', 1, 'M', '']) expect(checkSex(v)).toBe('sex.code: expected "1" (male) or "2" (female)');
  });
  it('postcodes', () => {
    expect(checkPostcode('514-8611')).toBeUndefined();
    expect(checkPostcode('5148611')).toBeUndefined();
    for (const v of ['514-861', '５１４-８６１１', '514 8611'])
      expect(checkPostcode(v)).toBe('postcode.format: expected NNN-NNNN or NNNNNNN (郵便番号)');
  });
  it('duty codes and operator ids', () => {
    expect(checkDutyCode('J01-tax')).toBeUndefined();
    expect(checkDutyCode('')).toBe('dutyCode.format: expected 1-16 characters of A-Z a-z 0-9 _ - (事務コード)');
    expect(checkDutyCode(undefined)).toBe('dutyCode.format: expected 1-16 characters of A-Z a-z 0-9 _ - (事務コード)');
    expect(idCheck('operatorId')('op-17')).toBeUndefined();
    expect(idCheck('operatorId')('op 17')).toBe('operatorId.format: expected 1-64 characters of A-Z a-z 0-9 . _ : -');
  });
  it('processing serial numbers are never a My Number or resident code', () => {
    expect(checkSerialNo('SN-2026-000001')).toBeUndefined();
    expect(checkSerialNo('123456789018')).toBe('serialNo.notMyNumber: a processing serial number must not be a My Number');
    expect(checkSerialNo('12345678901')).toBe('serialNo.notResidentCode: a processing serial number must not look like a 住民票コード');
    expect(checkSerialNo('x'.repeat(33))).toBe('serialNo.format: expected 1-32 printable ASCII characters (処理通番)');
  });
  it('dates carry the rule of the date module', () => {
    const birth = dateCheck({ allowUnknown: true, notAfter: '2026-11-24' });
    expect(birth('1975-00-00')).toBeUndefined();
    expect(birth('2030-01-01')).toBe('date.future: 2030-01-01 is after 2026-11-24');
    expect(birth(19750101)).toBe('date.format: expected a string');
  });
});

describe('name character set', () => {
  const name = nameCheck();
  it('accepts kanji incl. extensions, marks, kana, Latin, spaces, variation selectors and J+ codes', () => {
    for (const v of [
      '山田\u3000太郎',
      '佐々木 〆子',
      '𠮷田 花子',
      '㐂田',
      '髙橋',
      '﨑山',
      '葛\u{E0100}城',
      'やまだ タロウ',
      'SMITH JOHN',
      "O'BRIEN JEAN-PAUL JR.",
      'ＳＭＩＴＨ',
      '鈴木J+AC00子',
      'J+1234',
      '一ヶ谷',
      'ジョン・スミス',
    ]) {
      expect(name(v), v).toBeUndefined();
    }
  });
  it('rejects control, unpaired surrogates, private use and other characters, naming the position', () => {
    expect(name('山田\u0007')).toBe('name.charset: U+0007 (control character) is not allowed at position 2');
    expect(name('山\uD842田')).toBe('name.charset: U+D842 (unpaired surrogate) is not allowed at position 1');
    expect(name('\uDFB7')).toBe('name.charset: U+DFB7 (unpaired surrogate) is not allowed at position 0');
    expect(name('山\uE000')).toBe('name.charset: U+E000 (private-use character) is not allowed at position 1');
    expect(name('𠮷\u{F0001}')).toBe('name.charset: U+F0001 (private-use character) is not allowed at position 1');
    expect(name('山田1')).toBe('name.charset: U+0031 (character) is not allowed at position 2');
    expect(name('山田😀')).toBe('name.charset: U+1F600 (character) is not allowed at position 2');
    expect(name('\u{E0100}山')).toBe('name.charset: U+E0100 (variation selector) is not allowed at position 0');
    expect(name('鈴木J+AC0')).toBe('name.charset: "J+" at position 2 must be followed by 4 upper-case hex digits (住基ネット統一文字)');
    expect(name('鈴木J+ac00')).toBe('name.charset: "J+" at position 2 must be followed by 4 upper-case hex digits (住基ネット統一文字)');
    expect(name('\u3000 ')).toBe('name.empty: must not be empty');
    expect(name('山'.repeat(101))).toBe('name.length: at most 100 characters');
    expect(nameCheck('alias')('x\u0000')).toBe('alias.charset: U+0000 (control character) is not allowed at position 1');
  });
  it('a J+ code is kept as the literal token (never mapped to Hangul)', () => {
    expect(name('J+AC00')).toBeUndefined();
    expect(name('\uAC00')).toBe('name.charset: U+AC00 (character) is not allowed at position 0');
  });
});

describe('kana reading character set', () => {
  const kana = kanaCheck();
  it('accepts kana, long vowel, spaces and half-width kana', () => {
    for (const v of ['ヤマダ\u3000タロウ', 'やまだ たろう', 'ｻｻｷ ﾀﾛｳ', 'ヴァージニア', 'ジョン・スミス', 'コーヒー'])
      expect(kana(v), v).toBeUndefined();
  });
  it('rejects kanji, Latin and control characters with the rule', () => {
    expect(kana('山田')).toBe('kana.charset: U+5C71 (character) is not allowed at position 0');
    expect(kana('ヤマダA')).toBe('kana.charset: U+0041 (character) is not allowed at position 3');
    expect(kana('ヤマ\u0000')).toBe('kana.charset: U+0000 (control character) is not allowed at position 2');
    expect(kana('J+AC00')).toBe('kana.charset: U+004A (character) is not allowed at position 0');
    expect(kana('\u3000')).toBe('kana.empty: must not be empty');
  });
});

describe('address', () => {
  it('accepts Japanese addresses and J+ codes, rejects control and private use', () => {
    expect(checkAddress('三重県津市西丸之内23番1号')).toBeUndefined();
    expect(checkAddress('津市西丸之内23-1 ハイツJ+1234 101')).toBeUndefined();
    expect(checkAddress('津市\n西丸之内')).toBe('address.charset: U+000A (control character) is not allowed at position 2');
    expect(checkAddress('津市\uE001')).toBe('address.charset: U+E001 (private-use character) is not allowed at position 2');
    expect(checkAddress('')).toBe('address.empty: must not be empty');
  });
  it('rejects bidi controls, invisible format characters and stray variation selectors (import and messages alike)', () => {
    expect(checkAddress('津市\u202E西丸之内')).toBe('address.charset: U+202E (bidi control) is not allowed at position 2');
    expect(checkAddress('津市西丸之内\u200B23')).toBe(
      'address.charset: U+200B (invisible or format character) is not allowed at position 6',
    );
    expect(checkAddress('津市\uFFFE')).toBe('address.charset: U+FFFE (noncharacter) is not allowed at position 2');
    expect(checkAddress('葛\u{E0100}城市')).toBeUndefined();
    expect(kanaCheck()('ツ\u200Bハナコ')).toBe('kana.charset: U+200B (invisible or format character) is not allowed at position 1');
  });
});
