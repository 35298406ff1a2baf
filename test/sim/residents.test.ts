import { describe, expect, it } from 'vitest';
import { generateResidents, populationFromArg, populationSpec, prefectureSpec } from '../../sim/residents.js';
import { validateIdentityChange } from '../../gateway/cs/identityStoreValidation.js';
import { isValidLgCode } from '../../domain/identifiers.js';
import { identityRecordSchema } from '../../gateway/messages/identityRecord.js';
import { fieldKit } from '../../gateway/messages/fields.js';

describe('resident generator', () => {
  it('is deterministic and resumable at any index', () => {
    const a = [...generateResidents('tsu', { seed: 's1', count: 300 })];
    const b = [...generateResidents('tsu', { seed: 's1', count: 300 })];
    const tail = [...generateResidents('tsu', { seed: 's1', count: 100, start: 200 })];
    const other = [...generateResidents('tsu', { seed: 's2', count: 300 })];
    expect(b).toEqual(a);
    expect(tail).toEqual(a.slice(200));
    expect(other[0]).not.toEqual(a[0]);
  });

  it('produces valid, unique records with realistic variety', () => {
    const N = 40_000;
    const codes = new Set<string>();
    const numbers = new Set<string>();
    let invalid = 0,
      foreign = 0,
      alias = 0,
      unknownDate = 0,
      former = 0,
      variant = 0,
      elderly = 0,
      children = 0,
      male = 0;
    const surnames = new Map<string, number>();
    for (const r of generateResidents('yokohama', { seed: 't', count: N })) {
      if (validateIdentityChange(r).length) invalid++;
      codes.add(r.residentCode);
      numbers.add(r.myNumber);
      if (/^[A-Z]/.test(r.name)) foreign++;
      if (r.alias) alias++;
      if (r.birthDate.endsWith('-00')) unknownDate++;
      if (r.formerSurname) former++;
      if (/[髙齋齊邉邊﨑]/.test(r.name)) variant++;
      const year = Number(r.birthDate.slice(0, 4));
      if (year <= 2026 - 65) elderly++;
      if (year >= 2026 - 14) children++;
      if (r.sex === '1') male++;
      const s = r.name.split('\u3000')[0]!;
      surnames.set(s, (surnames.get(s) ?? 0) + 1);
      expect(r.address.startsWith('神奈川県横浜市')).toBe(true);
    }
    expect(invalid).toBe(0);
    expect(codes.size).toBe(N);
    expect(numbers.size).toBe(N);
    expect(foreign / N).toBeGreaterThan(0.02);
    expect(foreign / N).toBeLessThan(0.04);
    expect(alias).toBeGreaterThan(0);
    expect(unknownDate).toBeGreaterThan(0);
    expect(unknownDate / N).toBeLessThan(0.01);
    expect(former).toBeGreaterThan(0);
    expect(variant).toBeGreaterThan(0);
    expect(variant / N).toBeLessThan(0.01);
    expect(elderly / N).toBeGreaterThan(0.22); // Japan: ≈29 % aged 65+
    expect(elderly / N).toBeLessThan(0.36);
    expect(children / N).toBeGreaterThan(0.08); // ≈12 % aged 0–14
    expect(children / N).toBeLessThan(0.16);
    expect(male / N).toBeGreaterThan(0.46);
    const top = [...surnames.entries()].sort((x, y) => y[1] - x[1])[0]!;
    expect(top[0]).toBe('佐藤');
    expect(surnames.size).toBeGreaterThan(500);
  });

  it('produces records the identity-record message schema accepts', () => {
    const schema = identityRecordSchema(fieldKit({ checkResidentCodeDigit: true, today: () => '2026-11-24' }));
    for (const name of ['tsu', 'yokohama', 'pref-01'] as const) {
      for (const r of generateResidents(name, { seed: 'schema', count: 1500 })) {
        const res = schema.safeParse({ ...r, status: 'current', updateSeq: 1 });
        expect(res.success, JSON.stringify(res.error?.issues)).toBe(true);
      }
    }
  });

  it('spreads Yokohama over its 18 ward codes and knows other prefectures', () => {
    const wards = new Set([...generateResidents('yokohama', { count: 5000 })].map((r) => r.lgCode));
    expect(wards.size).toBe(18);
    expect([...wards].every(isValidLgCode)).toBe(true);
    expect(populationSpec('tsu').municipalities[0]!.lgCode).toBe('242012');
    const mie = new Set([...generateResidents('mie', { count: 2000 })].map((r) => r.lgCode));
    expect(mie.size).toBe(6);
    const osaka = prefectureSpec(27);
    expect(osaka.prefecture).toBe('大阪府');
    expect(osaka.municipalities.every((m) => isValidLgCode(m.lgCode))).toBe(true);
    expect([...generateResidents(osaka, { count: 10 })][0]!.address.startsWith('大阪府')).toBe(true);
    expect(populationFromArg('yokohama').count).toBeGreaterThan(3_000_000);
    expect(populationFromArg('1000')).toMatchObject({ count: 1000 });
    expect(() => populationSpec('atlantis')).toThrow(/unknown population/);
  });
});
