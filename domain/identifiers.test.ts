import { describe, expect, it } from 'vitest';
import {
  isNodeAddress,
  isValidLgCode,
  isValidMyNumber,
  isValidResidentCode,
  lgCodeCheckDigit,
  myNumberCheckDigit,
  prefectureCodeOf,
  residentCodeCheckDigit,
} from './identifiers.js';

describe('個人番号 check digit', () => {
  it('accepts the DOMAIN.md vectors', () => {
    expect(isValidMyNumber('123456789018')).toBe(true);
    expect(isValidMyNumber('983205673214')).toBe(true);
  });
  it('rejects a wrong check digit, wrong length and non-digits', () => {
    expect(isValidMyNumber('983205673210')).toBe(false);
    expect(isValidMyNumber('12345678901')).toBe(false);
    expect(isValidMyNumber('1234567890１8')).toBe(false);
  });
  it('exactly one check digit of ten is valid for every body', () => {
    for (const body of ['00000000000', '12345678901', '99999999999', '98320567321']) {
      const ok = [...'0123456789'].filter((d) => isValidMyNumber(body + d));
      expect(ok).toEqual([String(myNumberCheckDigit(body))]);
    }
  });
});

describe('全国地方公共団体コード check digit', () => {
  it.each(['242012', '240001', '141003', '141011', '131016'])('accepts %s', (c) => {
    expect(isValidLgCode(c)).toBe(true);
  });
  it('rejects every other last digit', () => {
    for (let d = 0; d < 10; d++) if (d !== 2) expect(isValidLgCode(`24201${d}`)).toBe(false);
    expect(lgCodeCheckDigit('24201')).toBe(2);
  });
  it('derives the prefecture code', () => {
    expect(prefectureCodeOf('242012')).toBe('240001');
    expect(isValidLgCode(prefectureCodeOf('141011'))).toBe(true);
  });
});

describe('住民票コード', () => {
  it('checks with the assumed weighting, switchable', () => {
    const body = '1234567890';
    const good = body + residentCodeCheckDigit(body);
    expect(isValidResidentCode(good)).toBe(true);
    const bad = body + ((residentCodeCheckDigit(body) + 1) % 10);
    expect(isValidResidentCode(bad)).toBe(false);
    expect(isValidResidentCode(bad, false)).toBe(true);
    expect(isValidResidentCode('123', false)).toBe(false);
  });
});

describe('node addresses', () => {
  it('accepts contract addresses and rejects others', () => {
    for (const a of ['lg:242012', 'pref:240001', 'national', 'card', 'ims:242012', 'nws']) expect(isNodeAddress(a)).toBe(true);
    for (const a of ['lg:242010', 'pref:242012', 'nat', 'lg:24201', '']) expect(isNodeAddress(a)).toBe(false);
  });
});
