// Deterministic generator of realistic residents. Resident i depends only on (seed, spec, i), so a
// population streams in flat memory, can restart at any index, and is identical on every machine.
import { createHash } from 'node:crypto';
import { myNumberCheckDigit, residentCodeCheckDigit } from '../domain/identifiers.js';
import type { IdentityChange } from '../gateway/cs/identityStoreTypes.js';
import { AGE_BANDS, FOREIGN_NAMES, GIVEN_NAMES, SURNAME_HEADS, SURNAME_TAILS, SURNAMES } from './residentsData.js';
import { populationSpec, type Municipality, type PopulationSpec } from './residentsSpec.js';

export { populationSpec, prefectureSpec, POPULATIONS, type PopulationSpec } from './residentsSpec.js';

export interface GenerateOptions {
  seed?: string;
  count: number;
  /** First index to produce (resume). */
  start?: number;
  /** Ages are computed against this date (YYYY-MM-DD), so output does not depend on today. */
  referenceDate?: string;
}

const DEFAULT_REFERENCE = '2026-04-01';

/** A small fast PRNG (mulberry32) seeded per resident. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash32(s: string, salt: number): number {
  return createHash('sha256')
    .update(s)
    .digest()
    .readUInt32BE(salt * 4);
}

/** Cumulative table for weighted picks in O(log n). */
class Weighted<T> {
  private cum: number[] = [];
  constructor(
    private readonly items: T[],
    weight: (t: T) => number,
  ) {
    let s = 0;
    for (const it of items) this.cum.push((s += weight(it)));
  }
  pick(r: number): T {
    const x = r * this.cum[this.cum.length - 1]!;
    let lo = 0,
      hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}

interface SurnameEntry {
  kanji: string;
  kana: string;
  weight: number;
  variants?: Array<[string, number]>;
}

function surnameTable(): Weighted<SurnameEntry> {
  const head: SurnameEntry[] = SURNAMES.map(([kanji, kana, weight, variants]) => ({
    kanji,
    kana,
    weight,
    ...(variants ? { variants } : {}),
  }));
  const known = new Set(head.map((s) => s.kanji));
  const tail: SurnameEntry[] = [];
  for (const [hk, hr] of SURNAME_HEADS)
    for (const [tk, , tr] of SURNAME_TAILS) {
      if (hk === tk || known.has(hk + tk)) continue;
      tail.push({ kanji: hk + tk, kana: hr + tr, weight: 0.55 });
    }
  return new Weighted([...head, ...tail], (s) => s.weight);
}

/** An affine bijection on [0, 10^digits): index → unique identifier body. */
function affine(seed: string, digits: number): (i: number) => string {
  const mod = 10n ** BigInt(digits);
  let a =
    BigInt(
      '0x' +
        createHash('sha256')
          .update('a' + seed)
          .digest('hex')
          .slice(0, 15),
    ) % mod;
  while (a % 2n === 0n || a % 5n === 0n) a = (a + 1n) % mod;
  const b =
    BigInt(
      '0x' +
        createHash('sha256')
          .update('b' + seed)
          .digest('hex')
          .slice(0, 15),
    ) % mod;
  const d =
    BigInt(
      '0x' +
        createHash('sha256')
          .update('d' + seed)
          .digest('hex')
          .slice(0, 15),
    ) % mod;
  // affine, digit reversal, affine again: still a bijection, but neighbours no longer look alike.
  return (i) => {
    const x = ((a * BigInt(i) + b) % mod).toString().padStart(digits, '0');
    const y = BigInt([...x].reverse().join(''));
    return ((a * y + d) % mod).toString().padStart(digits, '0');
  };
}

const KANJI_NUM = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];

function formatDate(y: number, m: number, d: number): string {
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Stream `count` residents of `spec` (a PopulationSpec or its name). */
export function* generateResidents(specOrName: PopulationSpec | string, opts: GenerateOptions): Generator<IdentityChange> {
  const spec = typeof specOrName === 'string' ? populationSpec(specOrName) : specOrName;
  const seed = `${opts.seed ?? 'juki-gw'}/${spec.name}`;
  const base = hash32(seed, 0);
  const surnames = surnameTable();
  const municipalities = new Weighted<Municipality>(spec.municipalities, (m) => m.weight);
  const ages = new Weighted(
    AGE_BANDS.map((w, i) => ({ w, band: i })),
    (a) => a.w,
  );
  const residentBody = affine('rc' + seed, 10);
  const myNumberBody = affine('mn' + seed, 11);
  const ref = opts.referenceDate ?? DEFAULT_REFERENCE;
  const refYear = Number(ref.slice(0, 4));
  const start = opts.start ?? 0;
  for (let i = start; i < start + opts.count; i++) {
    const r = rng(base ^ Math.imul(i + 1, 0x9e3779b1));
    const muni = municipalities.pick(r());
    const sex: '1' | '2' = r() < 0.487 ? '1' : '2';
    const age = Math.min(105, ages.pick(r()).band * 5 + Math.floor(r() * 5));
    const month = 1 + Math.floor(r() * 12);
    const day = 1 + Math.floor(r() * new Date(Date.UTC(2001, month, 0)).getUTCDate());
    const year = refYear - age - (formatDate(0, month, day).slice(5) > ref.slice(5) ? 1 : 0);
    const foreign = r() < spec.foreignRate;
    const rcBody = residentBody(i);
    const mnBody = myNumberBody(i);
    const rec: IdentityChange = {
      residentCode: rcBody + residentCodeCheckDigit(rcBody),
      myNumber: mnBody + myNumberCheckDigit(mnBody),
      lgCode: muni.lgCode,
      name: '',
      nameKana: '',
      birthDate: formatDate(year, month, day),
      sex,
      address: '',
      changeReason: 'add',
      changeDate: formatDate(Math.max(year, refYear - 1 - Math.floor(r() * 30)), 1 + Math.floor(r() * 12), 1 + Math.floor(r() * 28)),
    };
    if (rec.changeDate < rec.birthDate) rec.changeDate = rec.birthDate;
    if (foreign) {
      const [roman, kana, alias] = FOREIGN_NAMES[Math.floor(r() * FOREIGN_NAMES.length)]!;
      rec.name = roman;
      rec.nameKana = kana;
      if (alias && r() < 0.6) {
        rec.alias = alias[0];
        rec.aliasKana = alias[1];
      }
      const unknown = r();
      if (unknown < 0.04)
        rec.birthDate = `${year}-00-00`; // month and day unknown
      else if (unknown < 0.08) rec.birthDate = rec.birthDate.slice(0, 8) + '00';
    } else {
      const s = surnames.pick(r());
      let surname = s.kanji;
      const v = r();
      let acc = 0;
      for (const [variant, share] of s.variants ?? [])
        if (v < (acc += share)) {
          surname = variant;
          break;
        }
      const era = year < 1960 ? 'old' : year < 1990 ? 'mid' : 'young';
      const list = GIVEN_NAMES[era][sex === '1' ? 'm' : 'f'];
      const [given, givenKana] = list[Math.floor(r() * list.length)]!;
      rec.name = `${surname}\u3000${given}`;
      rec.nameKana = `${s.kana}\u3000${givenKana}`;
      if (sex === '2' && age >= 25 && r() < 0.03) {
        const f = surnames.pick(r());
        rec.formerSurname = f.kanji;
        rec.formerSurnameKana = f.kana;
      }
    }
    const town = muni.towns[Math.floor(r() * muni.towns.length)]!;
    let street = '';
    if (town.chome > 0) {
      const chome = 1 + Math.floor(r() * town.chome);
      street = `${r() < 0.3 ? KANJI_NUM[chome] : chome}丁目${1 + Math.floor(r() * 30)}番${1 + Math.floor(r() * 25)}号`;
    } else {
      street = `${1 + Math.floor(r() * 3000)}番地${r() < 0.4 ? '' + (1 + Math.floor(r() * 20)) : ''}`.replace(/番地(\d+)$/, '番地の$1');
    }
    if (r() < 0.15)
      street += `　${['コーポ', 'ハイツ', 'メゾン', 'パレス'][Math.floor(r() * 4)]}${town.name.slice(0, 2)}${1 + Math.floor(r() * 5)}0${1 + Math.floor(r() * 9)}号室`;
    rec.address = `${spec.prefecture}${muni.label}${town.name}${street}`;
    rec.postcode = town.postcode;
    if (r() < 0.001) {
      const prev = String(Math.floor(r() * 1e10)).padStart(10, '0');
      rec.previousResidentCode = prev + residentCodeCheckDigit(prev);
    }
    yield rec;
  }
}

/** Parses "tsu", "yokohama" (their reference sizes) or a number (a Tsu-like population of that size). */
export function populationFromArg(arg: string): { spec: PopulationSpec; count: number } {
  if (/^\d+$/.test(arg)) return { spec: populationSpec('tsu'), count: Number(arg) };
  const spec = populationSpec(arg);
  return { spec, count: spec.size };
}
