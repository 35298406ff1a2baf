// Dates of the resident register: ISO `YYYY-MM-DD`, 和暦 input converted, and the explicit
// "unknown month/day" form some foreign residents' records need. Pure: `today` is always injected.
//
// Unknown parts are written as `00`, never dropped: `YYYY-00-00` (month and day unknown) and
// `YYYY-MM-00` (day unknown). The value stays 10 characters, sorts with full dates, and cannot be
// mistaken for a real day. A known day with an unknown month (`YYYY-00-DD`) is rejected.

export type DateResult = { ok: true; iso: string; partial: boolean } | { ok: false; problem: string };

export interface DateRules {
  /** Allow `YYYY-00-00` / `YYYY-MM-00` (a birth date of some foreign residents). */
  allowUnknown?: boolean;
  /** ISO date; a value after it is rejected (e.g. a birth date in the future). */
  notAfter?: string;
}

/** An era of 和暦 with its first and last Gregorian day (inclusive). */
interface Era {
  name: string;
  abbr: string;
  first: string;
  last: string;
  offset: number;
}

// 明治 begins on 1868-10-23 (慶応4年9月8日). Dates before 明治6年 were lunisolar; the register
// holds Gregorian days, so we only convert the year and treat month/day as Gregorian.
// 大正 and 昭和 began on the day the emperor died, which is therefore also the last day of the era
// before (明治45年7月30日 = 大正元年7月30日, 大正15年12月25日 = 昭和元年12月25日); 平成 and 令和 began the next day.
export const ERAS: readonly Era[] = [
  { name: '明治', abbr: 'M', first: '1868-10-23', last: '1912-07-30', offset: 1867 },
  { name: '大正', abbr: 'T', first: '1912-07-30', last: '1926-12-25', offset: 1911 },
  { name: '昭和', abbr: 'S', first: '1926-12-25', last: '1989-01-07', offset: 1925 },
  { name: '平成', abbr: 'H', first: '1989-01-08', last: '2019-04-30', offset: 1988 },
  { name: '令和', abbr: 'R', first: '2019-05-01', last: '9999-12-31', offset: 2018 },
];

const ERA_BY_TOKEN = new Map<string, Era>();
for (const e of ERAS) {
  ERA_BY_TOKEN.set(e.name, e);
  ERA_BY_TOKEN.set(e.name[0]!, e); // 明/大/昭/平/令 as written on forms
  ERA_BY_TOKEN.set(e.abbr, e);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

function checkParts(y: number, m: number, d: number, rules: DateRules): DateResult {
  if (y < 1 || y > 9999) return { ok: false, problem: `date.range: year ${y} is out of range` };
  if (m > 12) return { ok: false, problem: `date.impossible: month ${m} does not exist` };
  const partial = m === 0 || d === 0;
  if (partial && !rules.allowUnknown) return { ok: false, problem: 'date.unknownNotAllowed: a complete date is required here' };
  if (m === 0 && d !== 0) return { ok: false, problem: 'date.unknownMonth: a day is given but the month is unknown (write YYYY-00-00)' };
  if (m !== 0 && d > daysInMonth(y, m)) return { ok: false, problem: `date.impossible: ${y}-${pad(m)} has no day ${d}` };
  const iso = `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
  // A partial date is "after" notAfter only if even its earliest possible day is.
  if (rules.notAfter !== undefined && iso.replace(/-00/g, '-01') > rules.notAfter) {
    return { ok: false, problem: `date.future: ${iso} is after ${rules.notAfter}` };
  }
  return { ok: true, iso, partial };
}

/** ISO `YYYY-MM-DD` (or, when allowed, `YYYY-00-00` / `YYYY-MM-00`). */
export function parseIsoDate(value: string, rules: DateRules = {}): DateResult {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return { ok: false, problem: 'date.format: expected YYYY-MM-DD or a 和暦 date' };
  return checkParts(Number(m[1]), Number(m[2]), Number(m[3]), rules);
}

// 昭和64年1月7日, 令和元年5月1日, S64.1.7, H31/4/30, R1-05-01, 昭64.1.7 (after NFKC: full-width
// digits, ㍼ and other era ligatures become ASCII/kanji). Month and day may be omitted only
// where unknown parts are allowed.
const WAREKI =
  /^(明治|大正|昭和|平成|令和|[明大昭平令MTSHR])\s*(元|\d{1,2})(?:年(?:(\d{1,2})月(?:(\d{1,2})日)?)?|[./-](\d{1,2})[./-](\d{1,2}))$/i;

/** 和暦 → ISO, checking that the day lies inside the era (昭和64年1月8日 does not exist). */
export function parseWareki(value: string, rules: DateRules = {}): DateResult {
  const s = value.normalize('NFKC').replace(/\s+/g, '');
  const m = WAREKI.exec(s);
  if (!m) return { ok: false, problem: 'date.format: expected YYYY-MM-DD or a 和暦 date' };
  const era = ERA_BY_TOKEN.get(m[1]!.toUpperCase())!;
  const eraYear = m[2] === '元' ? 1 : Number(m[2]);
  if (eraYear < 1) return { ok: false, problem: `date.era: ${era.name}0年 does not exist` };
  const month = Number(m[3] ?? m[5] ?? 0);
  const day = Number(m[4] ?? m[6] ?? 0);
  const r = checkParts(era.offset + eraYear, month, day, { allowUnknown: rules.allowUnknown });
  if (!r.ok) return r;
  // Partial dates only need to overlap the era; complete ones must fall inside it.
  const latest = r.iso.replace(/-00-00$/, '-12-31').replace(/-00$/, `-${pad(daysInMonth(era.offset + eraYear, month || 1))}`);
  const earliest = r.iso.replace(/-00/g, '-01');
  if (latest < era.first || earliest > era.last) {
    return {
      ok: false,
      problem: `date.era: ${value} is outside ${era.name} (${era.first} to ${era.last === '9999-12-31' ? 'today' : era.last})`,
    };
  }
  if (rules.notAfter !== undefined && earliest > rules.notAfter)
    return { ok: false, problem: `date.future: ${r.iso} is after ${rules.notAfter}` };
  return r;
}

/** Any accepted date input (ISO or 和暦) → ISO. */
export function parseDate(value: string, rules: DateRules = {}): DateResult {
  if (typeof value !== 'string') return { ok: false, problem: 'date.format: expected a string' };
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return parseIsoDate(value, rules);
  const normalized = value.normalize('NFKC').trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(normalized)) return parseIsoDate(normalized, rules);
  return parseWareki(value, rules);
}

/**
 * Whether two ISO dates, either possibly with unknown parts (`00`), can denote the same day: the
 * year must agree; an unknown month or day agrees with anything. For searches by date of birth.
 */
export function datesCompatible(a: string, b: string): boolean {
  if (a.slice(0, 4) !== b.slice(0, 4)) return false;
  const [ma, mb] = [a.slice(5, 7), b.slice(5, 7)];
  if (ma === '00' || mb === '00') return true;
  if (ma !== mb) return false;
  const [da, db] = [a.slice(8, 10), b.slice(8, 10)];
  return da === '00' || db === '00' || da === db;
}

/** Today's ISO date in Japan (JST, no DST) for a given instant — callers inject the instant. */
export function isoDateInJapan(epochMs: number): string {
  return new Date(epochMs + 9 * 3600_000).toISOString().slice(0, 10);
}

/** ISO → 和暦 label (for display and round-trip tests); undefined before 明治. */
export function toWareki(iso: string): string | undefined {
  const era = [...ERAS].reverse().find((e) => iso >= e.first && iso <= e.last);
  if (!era) return undefined;
  const y = Number(iso.slice(0, 4)) - era.offset;
  return `${era.name}${y === 1 ? '元' : y}年${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;
}
