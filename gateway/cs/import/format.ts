// Register extract formats for `juki-gw import` (docs/import.md): CSV with a header row, or JSONL,
// one identity record per line, field names as in the identity record. Turns one line into a
// change for the identity store, or into problems (line, field, rule) for the validation report.
import { parseDate } from '../../../domain/dates.js';
import type { IdentityChange } from '../identityStoreTypes.js';
import { validateIdentityChange } from '../identityStoreValidation.js';

export const IMPORT_FIELDS = [
  'residentCode',
  'myNumber',
  'lgCode',
  'name',
  'nameKana',
  'birthDate',
  'sex',
  'address',
  'postcode',
  'formerSurname',
  'formerSurnameKana',
  'alias',
  'aliasKana',
  'changeReason',
  'changeDate',
  'status',
  'previousResidentCode',
] as const;
const REQUIRED = ['residentCode', 'myNumber', 'lgCode', 'name', 'birthDate', 'sex', 'address', 'changeDate'] as const;

export type ImportFormat = 'csv' | 'jsonl';

export interface ImportProblem {
  line: number;
  field: string;
  rule: string;
  message: string;
}

/** 異動事由 as written in extracts: contract codes or the Japanese terms. */
const REASONS: Record<string, IdentityChange['changeReason']> = {
  add: 'add',
  delete: 'delete',
  correct: 'correct',
  記載: 'add',
  消除: 'delete',
  修正: 'correct',
};

export function formatOf(path: string, explicit?: string): ImportFormat | undefined {
  if (explicit) return explicit === 'csv' || explicit === 'jsonl' ? explicit : undefined;
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  return undefined;
}

/** One CSV line (RFC 4180 quoting: "a,b" and "" inside quotes; a record never spans lines). */
export function splitCsvLine(line: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return 'csv.quote: unterminated quoted field';
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(v);
      if (i === line.length) return out;
      if (line[i] !== ',') return 'csv.quote: text after a closing quote';
      i++;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, c));
      i = c + 1;
    }
  }
}

const problem = (line: number, field: string, text: string): ImportProblem => {
  const colon = text.indexOf(':');
  return { line, field, rule: colon > 0 ? text.slice(0, colon) : 'invalid', message: colon > 0 ? text.slice(colon + 1).trim() : text };
};

/** Reads the CSV header: every column must be a known field; required ones must be present. */
export function parseHeader(line: string): { columns: string[] } | { problems: ImportProblem[] } {
  const cols = splitCsvLine(line.replace(/^\uFEFF/, ''));
  if (typeof cols === 'string') return { problems: [problem(1, 'header', cols)] };
  const problems: ImportProblem[] = [];
  cols.forEach((c) => {
    if (!(IMPORT_FIELDS as readonly string[]).includes(c))
      problems.push(problem(1, c, `header.unknownColumn: "${c}" is not a record field`));
  });
  for (const r of REQUIRED) if (!cols.includes(r)) problems.push(problem(1, r, `header.missingColumn: required column "${r}" is absent`));
  return problems.length ? { problems } : { columns: cols };
}

/** One data line → a validated change, or its problems. Blank lines give neither. */
export function parseLine(
  format: ImportFormat,
  text: string,
  lineNo: number,
  columns?: string[],
): { change?: IdentityChange; problems: ImportProblem[] } {
  if (text.trim() === '') return { problems: [] };
  let raw: Record<string, unknown>;
  if (format === 'jsonl') {
    try {
      raw = JSON.parse(lineNo === 1 ? text.replace(/^\uFEFF/, '') : text) as Record<string, unknown>;
    } catch (e) {
      return { problems: [problem(lineNo, 'line', `json.syntax: ${(e as Error).message}`)] };
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return { problems: [problem(lineNo, 'line', 'json.object: expected one JSON object per line')] };
    const unknown = Object.keys(raw).filter((k) => !(IMPORT_FIELDS as readonly string[]).includes(k));
    if (unknown.length) return { problems: unknown.map((k) => problem(lineNo, k, `field.unknown: "${k}" is not a record field`)) };
  } else {
    const cells = splitCsvLine(text);
    if (typeof cells === 'string') return { problems: [problem(lineNo, 'line', cells)] };
    if (cells.length !== columns!.length)
      return { problems: [problem(lineNo, 'line', `csv.columns: expected ${columns!.length} columns, found ${cells.length}`)] };
    raw = {};
    columns!.forEach((c, i) => {
      if (cells[i] !== '') raw[c] = cells[i];
    });
  }
  return normalise(raw, lineNo);
}

function normalise(raw: Record<string, unknown>, lineNo: number): { change?: IdentityChange; problems: ImportProblem[] } {
  const problems: ImportProblem[] = [];
  const c: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== null && v !== '') c[k] = typeof v === 'number' && k === 'sex' ? String(v) : v;
  c.changeReason = c.changeReason === undefined ? 'add' : (REASONS[String(c.changeReason)] ?? c.changeReason);
  for (const [field, allowUnknown] of [
    ['birthDate', true],
    ['changeDate', false],
  ] as const) {
    if (typeof c[field] !== 'string') continue;
    const d = parseDate(c[field], { allowUnknown });
    if (d.ok) c[field] = d.iso;
    else problems.push(problem(lineNo, field, d.problem.replace(/^date\./, `${field}.`)));
  }
  for (const r of REQUIRED)
    if (c[r] === undefined && !problems.some((p) => p.field === r)) problems.push(problem(lineNo, r, `${r}.required: missing`));
  for (const d of validateIdentityChange(c)) {
    if (!problems.some((p) => p.field === d.path)) problems.push(problem(lineNo, d.path, d.problem));
  }
  if (c.status === undefined) c.status = c.changeReason === 'delete' ? 'deleted' : 'current';
  // why: the checks above proved every field of an IdentityChange (no problems).
  return problems.length ? { problems } : { change: c as unknown as IdentityChange, problems };
}
