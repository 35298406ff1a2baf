import { describe, expect, it } from 'vitest';
import { datesCompatible, daysInMonth, ERAS, isoDateInJapan, parseDate, parseIsoDate, parseWareki, toWareki } from './dates.js';

const ok = (iso: string) => ({ ok: true, iso, partial: iso.includes('-00') });

describe('ISO dates', () => {
  it('accepts real days and rejects impossible ones, naming the rule', () => {
    expect(parseIsoDate('2024-02-29')).toEqual(ok('2024-02-29'));
    expect(parseIsoDate('2000-02-29')).toEqual(ok('2000-02-29'));
    expect(parseIsoDate('1900-02-29')).toEqual({ ok: false, problem: 'date.impossible: 1900-02 has no day 29' });
    expect(parseIsoDate('2023-02-30')).toEqual({ ok: false, problem: 'date.impossible: 2023-02 has no day 30' });
    expect(parseIsoDate('2023-13-01')).toEqual({ ok: false, problem: 'date.impossible: month 13 does not exist' });
    expect(parseIsoDate('2023-4-01')).toEqual({ ok: false, problem: 'date.format: expected YYYY-MM-DD or a 和暦 date' });
    expect(parseIsoDate('0000-01-01')).toEqual({ ok: false, problem: 'date.range: year 0 is out of range' });
  });
  it('checks every day of every month of a leap and a common year', () => {
    for (const y of [2023, 2024]) {
      for (let m = 1; m <= 12; m++) {
        for (let d = 1; d <= 32; d++) {
          const iso = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const expected = d <= daysInMonth(y, m);
          expect(parseIsoDate(iso).ok, iso).toBe(expected);
          // Cross-check against the platform calendar.
          expect(new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d, iso).toBe(expected);
        }
      }
    }
  });
  it('allows unknown month/day only where asked, in the one documented form', () => {
    expect(parseIsoDate('1980-00-00')).toEqual({ ok: false, problem: 'date.unknownNotAllowed: a complete date is required here' });
    expect(parseIsoDate('1980-00-00', { allowUnknown: true })).toEqual(ok('1980-00-00'));
    expect(parseIsoDate('1980-07-00', { allowUnknown: true })).toEqual(ok('1980-07-00'));
    expect(parseIsoDate('1980-00-15', { allowUnknown: true })).toEqual({
      ok: false,
      problem: 'date.unknownMonth: a day is given but the month is unknown (write YYYY-00-00)',
    });
  });
  it('rejects dates after the injected today', () => {
    const today = '2026-11-24';
    expect(parseIsoDate('2026-11-24', { notAfter: today }).ok).toBe(true);
    expect(parseIsoDate('2026-11-25', { notAfter: today })).toEqual({ ok: false, problem: 'date.future: 2026-11-25 is after 2026-11-24' });
    expect(parseIsoDate('2026-11-00', { notAfter: today, allowUnknown: true }).ok).toBe(true);
    expect(parseIsoDate('2026-12-00', { notAfter: today, allowUnknown: true }).ok).toBe(false);
    expect(parseIsoDate('2027-00-00', { notAfter: today, allowUnknown: true }).ok).toBe(false);
  });
});

describe('和暦', () => {
  it('converts era boundaries exactly', () => {
    expect(parseWareki('昭和64年1月7日')).toEqual(ok('1989-01-07'));
    expect(parseWareki('昭和64年1月8日')).toEqual({
      ok: false,
      problem: 'date.era: 昭和64年1月8日 is outside 昭和 (1926-12-25 to 1989-01-07)',
    });
    expect(parseWareki('平成元年1月8日')).toEqual(ok('1989-01-08'));
    expect(parseWareki('平成元年1月7日').ok).toBe(false);
    expect(parseWareki('平成31年4月30日')).toEqual(ok('2019-04-30'));
    expect(parseWareki('平成31年5月1日').ok).toBe(false);
    expect(parseWareki('令和元年5月1日')).toEqual(ok('2019-05-01'));
    expect(parseWareki('令和元年4月30日').ok).toBe(false);
    expect(parseWareki('大正15年12月24日')).toEqual(ok('1926-12-24'));
    expect(parseWareki('昭和元年12月25日')).toEqual(ok('1926-12-25'));
    expect(parseWareki('明治45年7月29日')).toEqual(ok('1912-07-29'));
    expect(parseWareki('大正元年7月30日')).toEqual(ok('1912-07-30'));
    expect(parseWareki('明治元年10月22日').ok).toBe(false);
  });
  // 明治→大正 and 大正→昭和 changed on the day the emperor died, so that day is the last of the old era
  // AND the first of the new (明治45年7月30日 = 大正元年7月30日); 平成 and 令和 began the day after.
  it('accepts the last day of each era in the old era and the first in the new one, and refuses one day beyond', () => {
    const boundaries: Array<[lastOld: string, iso1: string, pastOld: string, firstNew: string, iso2: string, beforeNew: string]> = [
      ['明治45年7月30日', '1912-07-30', '明治45年7月31日', '大正元年7月30日', '1912-07-30', '大正元年7月29日'],
      ['大正15年12月25日', '1926-12-25', '大正15年12月26日', '昭和元年12月25日', '1926-12-25', '昭和元年12月24日'],
      ['昭和64年1月7日', '1989-01-07', '昭和64年1月8日', '平成元年1月8日', '1989-01-08', '平成元年1月7日'],
      ['平成31年4月30日', '2019-04-30', '平成31年5月1日', '令和元年5月1日', '2019-05-01', '令和元年4月30日'],
    ];
    for (const [lastOld, iso1, pastOld, firstNew, iso2, beforeNew] of boundaries) {
      expect(parseWareki(lastOld), lastOld).toEqual(ok(iso1));
      expect(parseDate(lastOld), lastOld).toEqual(ok(iso1));
      expect(parseWareki(firstNew), firstNew).toEqual(ok(iso2));
      expect(parseWareki(pastOld), pastOld).toMatchObject({
        ok: false,
        problem: expect.stringMatching(new RegExp(`^date\\.era: ${pastOld} is outside ${pastOld.slice(0, 2)}`)),
      });
      expect(parseWareki(beforeNew), beforeNew).toMatchObject({
        ok: false,
        problem: expect.stringMatching(new RegExp(`^date\\.era: ${beforeNew} is outside ${beforeNew.slice(0, 2)}`)),
      });
    }
    expect(parseWareki('M45.7.30')).toEqual(ok('1912-07-30'));
    expect(parseWareki('T15.12.25')).toEqual(ok('1926-12-25'));
    expect(parseWareki('明治元年10月23日')).toEqual(ok('1868-10-23'));
    // The shared days are shown in the new era.
    expect(toWareki('1912-07-30')).toBe('大正元年7月30日');
    expect(toWareki('1926-12-25')).toBe('昭和元年12月25日');
  });
  it('walks every era boundary: last day valid in the old era, first day valid in the new one only', () => {
    for (let i = 1; i < ERAS.length; i++) {
      const prev = ERAS[i - 1]!;
      const next = ERAS[i]!;
      for (const iso of [prev.last, next.first]) {
        const y = Number(iso.slice(0, 4));
        const [mm, dd] = [Number(iso.slice(5, 7)), Number(iso.slice(8, 10))];
        for (const era of [prev, next]) {
          const label = `${era.name}${y - era.offset === 1 ? '元' : y - era.offset}年${mm}月${dd}日`;
          const inside = iso >= era.first && iso <= era.last;
          expect(parseWareki(label).ok, label).toBe(inside);
          if (inside) expect(parseWareki(label)).toEqual(ok(iso));
          const abbr = `${era.abbr}${y - era.offset}.${mm}.${dd}`;
          expect(parseWareki(abbr).ok, abbr).toBe(inside);
        }
      }
    }
  });
  it('round-trips every day of 1989 and 2019 through toWareki', () => {
    for (const y of [1989, 2019]) {
      for (let t = Date.UTC(y, 0, 1); t < Date.UTC(y + 1, 0, 1); t += 86_400_000) {
        const iso = new Date(t).toISOString().slice(0, 10);
        expect(parseWareki(toWareki(iso)!)).toEqual(ok(iso));
      }
    }
  });
  it('accepts abbreviations, 元年, single-kanji eras, full-width digits and era ligatures', () => {
    for (const s of ['S64.1.7', 's64/1/7', 'S64-01-07', '昭64.1.7', '昭和６４年１月７日', '㍼64年1月7日', '昭和 64年 1月 7日']) {
      expect(parseWareki(s), s).toEqual(ok('1989-01-07'));
    }
    expect(parseWareki('R1.5.1')).toEqual(ok('2019-05-01'));
    expect(parseWareki('Ｒ元年５月１日')).toEqual(ok('2019-05-01'));
    expect(parseWareki('H31.4.30')).toEqual(ok('2019-04-30'));
    expect(parseWareki('M45.7.29')).toEqual(ok('1912-07-29'));
    expect(parseWareki('T1.7.30')).toEqual(ok('1912-07-30'));
  });
  it('rejects impossible 和暦 dates with the rule', () => {
    expect(parseWareki('平成5年2月30日')).toEqual({ ok: false, problem: 'date.impossible: 1993-02 has no day 30' });
    expect(parseWareki('昭和0年1月1日')).toEqual({ ok: false, problem: 'date.era: 昭和0年 does not exist' });
    expect(parseWareki('X5.1.1')).toEqual({ ok: false, problem: 'date.format: expected YYYY-MM-DD or a 和暦 date' });
    expect(parseWareki('令和9年1月1日', { notAfter: '2026-11-24' })).toEqual({
      ok: false,
      problem: 'date.future: 2027-01-01 is after 2026-11-24',
    });
  });
  it('allows unknown month/day in 和暦 only where allowed, overlapping the era', () => {
    expect(parseWareki('昭和50年').ok).toBe(false);
    expect(parseWareki('昭和50年', { allowUnknown: true })).toEqual(ok('1975-00-00'));
    expect(parseWareki('昭和50年3月', { allowUnknown: true })).toEqual(ok('1975-03-00'));
    expect(parseWareki('昭和64年', { allowUnknown: true })).toEqual(ok('1989-00-00'));
    expect(parseWareki('昭和64年2月', { allowUnknown: true }).ok).toBe(false);
  });
});

describe('parseDate and today', () => {
  it('dispatches ISO, full-width ISO and 和暦', () => {
    expect(parseDate('1989-01-07')).toEqual(ok('1989-01-07'));
    expect(parseDate('１９８９－０１－０７')).toEqual(ok('1989-01-07'));
    expect(parseDate('１９８９-０１-０７')).toEqual(ok('1989-01-07'));
    expect(parseDate('昭和64年1月7日')).toEqual(ok('1989-01-07'));
    expect(parseDate('')).toEqual({ ok: false, problem: 'date.format: expected YYYY-MM-DD or a 和暦 date' });
  });
  it('computes the Japanese calendar day of an instant', () => {
    expect(isoDateInJapan(Date.UTC(2026, 10, 23, 14, 59))).toBe('2026-11-23');
    expect(isoDateInJapan(Date.UTC(2026, 10, 23, 15, 0))).toBe('2026-11-24');
  });
});

describe('datesCompatible', () => {
  it('unknown parts agree with anything, known parts must match', () => {
    const yes: [string, string][] = [
      ['1975-03-15', '1975-03-15'],
      ['1975-00-00', '1975-03-15'],
      ['1975-03-00', '1975-03-15'],
      ['1975-03-15', '1975-00-00'],
      ['1975-03-00', '1975-00-00'],
      ['1975-03-00', '1975-03-00'],
    ];
    const no: [string, string][] = [
      ['1975-03-15', '1976-03-15'],
      ['1975-03-15', '1975-04-15'],
      ['1975-03-00', '1975-04-15'],
      ['1975-03-15', '1975-03-16'],
      ['1975-00-00', '1976-00-00'],
    ];
    for (const [a, b] of yes) {
      expect(datesCompatible(a, b), `${a} ${b}`).toBe(true);
      expect(datesCompatible(b, a)).toBe(true);
    }
    for (const [a, b] of no) {
      expect(datesCompatible(a, b), `${a} ${b}`).toBe(false);
      expect(datesCompatible(b, a)).toBe(false);
    }
  });
});
