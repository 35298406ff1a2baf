// Field rules for an identity change, shared by the store and the importer's validation report.
// [local] until gateway/domain/validation.ts lands.
import { isValidLgCode, isValidMyNumber, isValidResidentCode } from '../domain/identifiers.js';
import type { ErrorDetail } from '../envelope.js';
import { CHANGE_REASONS } from './identityStoreTypes.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const PARTIAL_DATE = /^\d{4}(-\d{2})?$/;

function isCalendarDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
  return d.getUTCFullYear() === +m[1]! && d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]!;
}

/** 生年月日: a calendar date, or YYYY-MM / YYYY when month or day is unknown. */
export function isBirthDate(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  if (PARTIAL_DATE.test(s)) return s.length === 4 || (+s.slice(5, 7) >= 1 && +s.slice(5, 7) <= 12);
  return isCalendarDate(s);
}

const text = (v: unknown, max: number) => typeof v === 'string' && v.trim().length > 0 && v.length <= max;

/** Every problem of a change, as contract error details (path relative to the record). */
export function validateIdentityChange(c: Record<string, unknown>, opts: { residentCodeCheckDigit?: boolean } = {}): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const bad = (path: string, problem: string) => out.push({ path, problem });
  if (!isValidResidentCode(c.residentCode as string, opts.residentCodeCheckDigit ?? true)) bad('residentCode', 'expected an 11-digit 住民票コード with a valid check digit');
  if (!isValidMyNumber(c.myNumber as string)) bad('myNumber', 'expected a 12-digit 個人番号 with a valid check digit');
  if (!isValidLgCode(c.lgCode as string)) bad('lgCode', 'expected a 6-digit local-government code with a valid check digit');
  if (!text(c.name, 100)) bad('name', 'expected a non-empty name of at most 100 characters');
  if (!text(c.kana, 200)) bad('kana', 'expected a non-empty kana reading of at most 200 characters');
  if (!isBirthDate(c.birthDate)) bad('birthDate', 'expected YYYY-MM-DD, or YYYY-MM / YYYY when unknown');
  if (c.sex !== 1 && c.sex !== 2) bad('sex', 'expected 1 (male) or 2 (female)');
  if (!text(c.address, 200)) bad('address', 'expected a non-empty address of at most 200 characters');
  if (c.postcode !== undefined && !/^\d{7}$/.test(c.postcode as string)) bad('postcode', 'expected 7 digits');
  for (const f of ['formerSurname', 'formerSurnameKana', 'alias', 'aliasKana'] as const) {
    if (c[f] !== undefined && !text(c[f], 100)) bad(f, 'expected a non-empty text of at most 100 characters');
  }
  if (c.status !== undefined && c.status !== 'current' && c.status !== 'deleted') bad('status', 'expected current or deleted');
  if (c.previousResidentCode !== undefined && !isValidResidentCode(c.previousResidentCode as string, opts.residentCodeCheckDigit ?? true)) {
    bad('previousResidentCode', 'expected an 11-digit 住民票コード with a valid check digit');
  }
  const ch = c.change as { reason?: unknown; date?: unknown } | undefined;
  if (!ch || typeof ch !== 'object') bad('change', 'expected { reason, date }');
  else {
    if (!CHANGE_REASONS.includes(ch.reason as never)) bad('change.reason', 'expected 記載, 消除 or 修正');
    if (typeof ch.date !== 'string' || !isCalendarDate(ch.date)) bad('change.date', 'expected YYYY-MM-DD');
  }
  return out;
}
