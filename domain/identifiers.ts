// Identifier check digits of Japan's resident-register network (see shared/domain/DOMAIN.md).
// Pure functions: no I/O, so they are tested fast and exhaustively.

const DIGITS = /^[0-9]+$/;

/** Weighted mod-11 check used by 個人番号 (総務省令第85号 §5): weights from the left 6,5,4,3,2,7,6,5,4,3,2. */
function mod11CheckFromRight(body: string): number {
  let sum = 0;
  for (let n = 1; n <= body.length; n++) {
    const p = body.charCodeAt(body.length - n) - 48;
    const q = n <= 6 ? n + 1 : n - 5;
    sum += p * q;
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

/** 個人番号 (My Number): 12 digits, last is the check digit. */
export function myNumberCheckDigit(first11: string): number {
  if (first11.length !== 11 || !DIGITS.test(first11)) throw new RangeError('expected 11 digits');
  return mod11CheckFromRight(first11);
}

export function isValidMyNumber(value: string): boolean {
  return (
    typeof value === 'string' &&
    value.length === 12 &&
    DIGITS.test(value) &&
    myNumberCheckDigit(value.slice(0, 11)) === value.charCodeAt(11) - 48
  );
}

/** 住民票コード: 11 digits. [assumed] same weighting as My Number over the first 10 digits. */
export function residentCodeCheckDigit(first10: string): number {
  if (first10.length !== 10 || !DIGITS.test(first10)) throw new RangeError('expected 10 digits');
  return mod11CheckFromRight(first10);
}

export function isValidResidentCode(value: string, checkDigit = true): boolean {
  if (typeof value !== 'string' || value.length !== 11 || !DIGITS.test(value)) return false;
  return !checkDigit || residentCodeCheckDigit(value.slice(0, 10)) === value.charCodeAt(10) - 48;
}

/** 全国地方公共団体コード: 5 digits + check = (11 − (6a+5b+4c+3d+2e) mod 11) mod 10. */
export function lgCodeCheckDigit(first5: string): number {
  if (first5.length !== 5 || !DIGITS.test(first5)) throw new RangeError('expected 5 digits');
  const w = [6, 5, 4, 3, 2];
  let s = 0;
  for (let i = 0; i < 5; i++) s += (first5.charCodeAt(i) - 48) * w[i]!;
  return (11 - (s % 11)) % 10;
}

export function isValidLgCode(value: string): boolean {
  return (
    typeof value === 'string' &&
    value.length === 6 &&
    DIGITS.test(value) &&
    lgCodeCheckDigit(value.slice(0, 5)) === value.charCodeAt(5) - 48
  );
}

/** The prefecture's own code (都道府県コード as a local-government code), e.g. 242012 → 240001. */
export function prefectureCodeOf(lgCode: string): string {
  const first5 = lgCode.slice(0, 2) + '000';
  return first5 + String(lgCodeCheckDigit(first5));
}

export function isPrefectureCode(lgCode: string): boolean {
  return isValidLgCode(lgCode) && lgCode.slice(2, 5) === '000';
}

// Node addresses on upstream brokers (CONTRACT.md "Upstream topics").
export type NodeAddress = `lg:${string}` | `pref:${string}` | 'national' | 'card' | `ims:${string}` | 'nws';

export function isNodeAddress(value: string): value is NodeAddress {
  if (value === 'national' || value === 'card' || value === 'nws') return true;
  const m = /^(lg|pref|ims):([0-9]{6})$/.exec(value);
  if (!m) return false;
  if (!isValidLgCode(m[2]!)) return false;
  return m[1] !== 'pref' || isPrefectureCode(m[2]!);
}
