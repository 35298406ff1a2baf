import { describe, expect, it } from 'vitest';
import { isPrefectureCode, isValidLgCode, prefectureCodeOf } from './identifiers.js';
import { DEFAULT_CODE_TABLES, LARGE_CITIES, MIE_MUNICIPALITIES, PREFECTURES, YOKOHAMA_WARDS, type CodeTables } from './municipalities.js';
import {
  isServedHere,
  knownMunicipalityCodes,
  knownMunicipalityPredicate,
  placeOf,
  resolveAddress,
  routeMoveOutCertRequest,
  routeSearch,
} from './routing.js';

const TSU = ['242012'];
const YOKOHAMA = YOKOHAMA_WARDS.map((w) => w.code);

describe('code tables', () => {
  it('every code has a valid check digit; prefectures are xx000c in order 01..47', () => {
    expect(PREFECTURES).toHaveLength(47);
    PREFECTURES.forEach((p, i) => {
      expect(isValidLgCode(p.code), p.name).toBe(true);
      expect(isPrefectureCode(p.code), p.name).toBe(true);
      expect(p.code.slice(0, 2)).toBe(String(i + 1).padStart(2, '0'));
    });
    for (const m of DEFAULT_CODE_TABLES.municipalities) {
      expect(isValidLgCode(m.code), `${m.name} ${m.code}`).toBe(true);
      expect(isPrefectureCode(m.code), m.name).toBe(false);
    }
    expect(new Set(DEFAULT_CODE_TABLES.municipalities.map((m) => m.code)).size).toBe(DEFAULT_CODE_TABLES.municipalities.length);
  });
  it('holds all 29 municipalities of Mie with the codes of the brief', () => {
    expect(MIE_MUNICIPALITIES).toHaveLength(29);
    expect(MIE_MUNICIPALITIES.filter((m) => m.name.endsWith('市'))).toHaveLength(14);
    for (const m of MIE_MUNICIPALITIES) expect(prefectureCodeOf(m.code)).toBe('240001');
    const byName = Object.fromEntries(MIE_MUNICIPALITIES.map((m) => [m.name, m.code]));
    expect(byName).toMatchObject({
      津市: '242012',
      四日市市: '242021',
      伊勢市: '242039',
      松阪市: '242047',
      桑名市: '242055',
      鈴鹿市: '242071',
      名張市: '242080',
      尾鷲市: '242098',
      亀山市: '242101',
      鳥羽市: '242110',
      熊野市: '242128',
      いなべ市: '242144',
      志摩市: '242152',
      伊賀市: '242161',
    });
  });
  it("holds Yokohama's 18 wards under 141003", () => {
    expect(YOKOHAMA_WARDS).toHaveLength(18);
    expect(YOKOHAMA_WARDS[0]).toEqual({ code: '141011', name: '横浜市鶴見区', city: '141003' });
    expect(LARGE_CITIES.find((c) => c.name === '横浜市')?.code).toBe('141003');
    expect(LARGE_CITIES.find((c) => c.name === '千代田区')?.code).toBe('131016');
  });
});

describe('knownMunicipalityPredicate', () => {
  it('rejects codes missing from a completely listed prefecture (Mie) only', () => {
    const known = knownMunicipalityPredicate();
    for (const m of MIE_MUNICIPALITIES) expect(known(m.code)).toBe(true);
    expect(known('242195')).toBe(false);
    expect(known('232017')).toBe(true); // 豊橋市: Aichi is not listed completely
    expect(knownMunicipalityPredicate({ prefectures: PREFECTURES, municipalities: [] })('242195')).toBe(true);
  });
});

describe('resolveAddress', () => {
  it('resolves prefecture and municipality, with or without the prefecture name or 郡', () => {
    expect(resolveAddress('三重県津市西丸之内23番1号')).toEqual({ prefCode: '240001', lgCode: '242012' });
    expect(resolveAddress('津市西丸之内23-1')).toEqual({ prefCode: '240001', lgCode: '242012' });
    expect(resolveAddress('三重県三重郡菰野町大字潤田1250')).toEqual({ prefCode: '240001', lgCode: '243418' });
    expect(resolveAddress('菰野町潤田1250')).toEqual({ prefCode: '240001', lgCode: '243418' });
    expect(resolveAddress('神奈川県横浜市保土ヶ谷区川辺町2-9')).toEqual({ prefCode: '140007', lgCode: '141062' });
    expect(resolveAddress('横浜市中区港町1-1')).toEqual({ prefCode: '140007', lgCode: '141046' });
    expect(resolveAddress('横浜市')).toEqual({ prefCode: '140007', lgCode: '141003' });
    expect(resolveAddress('東京都 千代田区 霞が関')).toEqual({ prefCode: '130001', lgCode: '131016' });
  });
  it('falls back to the prefecture, or nothing', () => {
    expect(resolveAddress('愛知県豊橋市今橋町1')).toEqual({ prefCode: '230006' });
    expect(resolveAddress('三重県紀和町')).toEqual({ prefCode: '240001' });
    expect(resolveAddress('大津市御陵町3-1')).toEqual({});
    expect(resolveAddress('')).toEqual({});
  });
  it('a prefecture name restricts the municipality to that prefecture', () => {
    expect(resolveAddress('富山県下新川郡朝日町道下1133')).toEqual({ prefCode: '160008' });
    expect(resolveAddress('三重県三重郡朝日町小向893')).toEqual({ prefCode: '240001', lgCode: '243434' });
  });
  it('an explicit code wins over the address', () => {
    expect(placeOf({ lgCode: '242021', address: '津市' })).toEqual({ prefCode: '240001', lgCode: '242021' });
    expect(placeOf({ lgCode: '240001' })).toEqual({ prefCode: '240001' });
    expect(placeOf({ lgCode: '242010', address: '津市' })).toEqual({ prefCode: '240001', lgCode: '242012' });
  });
});

describe('routeSearch (seed 4-①)', () => {
  it('own municipality → local; same prefecture → pref; elsewhere or unknown → national', () => {
    expect(routeSearch({ address: '三重県津市西丸之内23-1' }, TSU)).toEqual({ kind: 'local' });
    expect(routeSearch({ lgCode: '242012' }, TSU)).toEqual({ kind: 'local' });
    expect(routeSearch({ address: '四日市市諏訪町1-5' }, TSU)).toEqual({ kind: 'pref', node: 'pref:240001' });
    expect(routeSearch({ address: '三重県どこか' }, TSU)).toEqual({ kind: 'pref', node: 'pref:240001' });
    expect(routeSearch({ lgCode: '242161' }, TSU)).toEqual({ kind: 'pref', node: 'pref:240001' });
    expect(routeSearch({ address: '東京都千代田区霞が関1-2-1' }, TSU)).toEqual({ kind: 'national' });
    expect(routeSearch({ address: '愛知県豊橋市今橋町1' }, TSU)).toEqual({ kind: 'national' });
    expect(routeSearch({ address: '大津市御陵町3-1' }, TSU)).toEqual({ kind: 'national' });
    expect(routeSearch({}, TSU)).toEqual({ kind: 'national' });
  });
  it('routes every Mie municipality from Tsu: only Tsu is local', () => {
    for (const m of MIE_MUNICIPALITIES) {
      const expected = m.code === '242012' ? { kind: 'local' } : { kind: 'pref', node: 'pref:240001' };
      expect(routeSearch({ address: `三重県${m.county ?? ''}${m.name}1番地` }, TSU), m.name).toEqual(expected);
      expect(routeSearch({ address: `${m.name}1番地` }, TSU), m.name).toEqual(expected);
      expect(routeSearch({ lgCode: m.code }, TSU), m.name).toEqual(expected);
    }
  });
  it('serves several codes: a Yokohama installation answers every ward and the city locally', () => {
    for (const w of YOKOHAMA_WARDS) expect(routeSearch({ address: `神奈川県${w.name}1-1` }, YOKOHAMA)).toEqual({ kind: 'local' });
    expect(routeSearch({ address: '横浜市' }, YOKOHAMA)).toEqual({ kind: 'local' });
    expect(isServedHere('141003', YOKOHAMA)).toBe(true);
    expect(isServedHere('141003', YOKOHAMA.slice(1))).toBe(false);
    expect(routeSearch({ address: '横浜市' }, YOKOHAMA.slice(1))).toEqual({ kind: 'pref', node: 'pref:140007' });
    expect(routeSearch({ address: '川崎市川崎区' }, YOKOHAMA)).toEqual({ kind: 'pref', node: 'pref:140007' });
    expect(routeSearch({ address: '三重県津市' }, YOKOHAMA)).toEqual({ kind: 'national' });
  });
  it('takes a swapped table', () => {
    const tables: CodeTables = { prefectures: PREFECTURES, municipalities: [{ code: '232017', name: '豊橋市' }] };
    expect(routeSearch({ address: '豊橋市今橋町1' }, ['232017'], tables)).toEqual({ kind: 'local' });
    expect(routeSearch({ address: '津市' }, ['232017'], tables)).toEqual({ kind: 'national' });
    expect(knownMunicipalityCodes(tables)).toEqual(new Set(['232017']));
  });
});

describe('routeMoveOutCertRequest (seed 3-②)', () => {
  it('goes to lg:{old code}, or stays local for a served code', () => {
    expect(routeMoveOutCertRequest({ oldLgCode: '131016' }, TSU)).toEqual({ kind: 'lg', node: 'lg:131016', lgCode: '131016' });
    expect(routeMoveOutCertRequest({ oldAddress: '東京都千代田区霞が関1-2-1' }, TSU)).toEqual({
      kind: 'lg',
      node: 'lg:131016',
      lgCode: '131016',
    });
    expect(routeMoveOutCertRequest({ oldAddress: '伊勢市岩渕1-7-29' }, TSU)).toEqual({ kind: 'lg', node: 'lg:242039', lgCode: '242039' });
    expect(routeMoveOutCertRequest({ oldAddress: '横浜市鶴見区' }, YOKOHAMA)).toEqual({ kind: 'local', lgCode: '141011' });
  });
  it('explains what it cannot resolve', () => {
    expect(routeMoveOutCertRequest({ oldLgCode: '240001' }, TSU)).toEqual({
      kind: 'unresolved',
      problem: 'route.oldLgCode: not a municipality code',
    });
    expect(routeMoveOutCertRequest({ oldLgCode: '242010' }, TSU)).toEqual({
      kind: 'unresolved',
      problem: 'route.oldLgCode: not a municipality code',
    });
    expect(routeMoveOutCertRequest({}, TSU)).toEqual({ kind: 'unresolved', problem: 'route.unknown: give oldLgCode or oldAddress' });
    expect(routeMoveOutCertRequest({ oldAddress: '愛知県豊橋市' }, TSU)).toEqual({
      kind: 'unresolved',
      problem: 'route.unknownMunicipality: the old address does not name a known municipality; give oldLgCode',
    });
    expect(routeMoveOutCertRequest({ oldAddress: '横浜市' }, TSU)).toEqual({
      kind: 'unresolved',
      problem: 'route.wardRequired: the old address names a designated city without its ward; give oldLgCode',
    });
  });
});
