// Where a search (seed 4-①) or a move-out certificate request (3-②) goes. Pure: the served codes
// and the code tables are injected.
//   own municipality → local store; same prefecture → prefectural server; other prefecture or
//   unknown → national server.
import { isPrefectureCode, isValidLgCode, prefectureCodeOf } from './identifiers.js';
import { DEFAULT_CODE_TABLES, type CodeTables, type Municipality } from './municipalities.js';

export type SearchRoute = { kind: 'local' } | { kind: 'pref'; node: `pref:${string}` } | { kind: 'national' };

export interface ResolvedPlace {
  /** The prefecture's own code (xx000c). */
  prefCode?: string;
  /** The municipality (or ward) code, when the table knows it. */
  lgCode?: string;
}

/** Lookup form: NFKC, no spaces, ヶ→ケ (保土ヶ谷区 = 保土ケ谷区). */
function lookupForm(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/[\u0020\u3000]/g, '')
    .replace(/ヶ/g, 'ケ');
}

interface Index {
  prefs: { code: string; name: string }[];
  /** (lookup name, municipality), longest name first so 横浜市鶴見区 wins over 横浜市. */
  names: { name: string; m: Municipality }[];
  wardsOf: Map<string, string[]>;
}
const indexes = new WeakMap<CodeTables, Index>();

function indexOf(tables: CodeTables): Index {
  let ix = indexes.get(tables);
  if (ix) return ix;
  const names: Index['names'] = [];
  const wardsOf = new Map<string, string[]>();
  for (const m of tables.municipalities) {
    names.push({ name: lookupForm(m.name), m });
    if (m.county) names.push({ name: lookupForm(m.county + m.name), m });
    if (m.city) wardsOf.set(m.city, [...(wardsOf.get(m.city) ?? []), m.code]);
  }
  names.sort((a, b) => b.name.length - a.name.length);
  ix = { prefs: tables.prefectures.map((p) => ({ code: p.code, name: lookupForm(p.name) })), names, wardsOf };
  indexes.set(tables, ix);
  return ix;
}

/**
 * Address string → prefecture and (if the table knows it) municipality. A leading prefecture name
 * restricts the municipality to that prefecture; without one, the municipality name alone decides.
 */
export function resolveAddress(address: string, tables: CodeTables = DEFAULT_CODE_TABLES): ResolvedPlace {
  const ix = indexOf(tables);
  let rest = lookupForm(address);
  const pref = ix.prefs.find((p) => rest.startsWith(p.name));
  if (pref) rest = rest.slice(pref.name.length);
  const hit = ix.names.find((n) => rest.startsWith(n.name) && (!pref || n.m.code.slice(0, 2) === pref.code.slice(0, 2)));
  if (hit) return { prefCode: prefectureCodeOf(hit.m.code), lgCode: hit.m.code };
  return pref ? { prefCode: pref.code } : {};
}

/** A place from an explicit code (authoritative) or else from the address. */
export function placeOf(target: { address?: string; lgCode?: string }, tables: CodeTables = DEFAULT_CODE_TABLES): ResolvedPlace {
  if (target.lgCode !== undefined && isValidLgCode(target.lgCode)) {
    return isPrefectureCode(target.lgCode)
      ? { prefCode: target.lgCode }
      : { prefCode: prefectureCodeOf(target.lgCode), lgCode: target.lgCode };
  }
  return target.address ? resolveAddress(target.address, tables) : {};
}

/** Is this municipality held in our local store? A designated city counts when all its wards are served. */
export function isServedHere(lgCode: string, served: readonly string[], tables: CodeTables = DEFAULT_CODE_TABLES): boolean {
  if (served.includes(lgCode)) return true;
  const wards = indexOf(tables).wardsOf.get(lgCode);
  return wards !== undefined && wards.every((w) => served.includes(w));
}

/** Seed 4-①: local, the prefectural server of our prefecture, or the national server. */
export function routeSearch(
  target: { address?: string; lgCode?: string },
  served: readonly string[],
  tables: CodeTables = DEFAULT_CODE_TABLES,
): SearchRoute {
  const place = placeOf(target, tables);
  if (place.lgCode && isServedHere(place.lgCode, served, tables)) return { kind: 'local' };
  if (place.prefCode && served.some((c) => prefectureCodeOf(c) === place.prefCode)) {
    return { kind: 'pref', node: `pref:${place.prefCode}` };
  }
  return { kind: 'national' };
}

export type MoveOutRoute =
  { kind: 'local'; lgCode: string } | { kind: 'lg'; node: `lg:${string}`; lgCode: string } | { kind: 'unresolved'; problem: string };

/**
 * Seed 3-②: the move-out certificate request goes to the old municipality's CS (`lg:{old code}`),
 * or is answered locally when we serve that municipality (a move between wards of one installation).
 */
export function routeMoveOutCertRequest(
  target: { oldLgCode?: string; oldAddress?: string },
  served: readonly string[],
  tables: CodeTables = DEFAULT_CODE_TABLES,
): MoveOutRoute {
  if (target.oldLgCode !== undefined) {
    if (!isValidLgCode(target.oldLgCode) || isPrefectureCode(target.oldLgCode)) {
      return { kind: 'unresolved', problem: 'route.oldLgCode: not a municipality code' };
    }
    return served.includes(target.oldLgCode)
      ? { kind: 'local', lgCode: target.oldLgCode }
      : { kind: 'lg', node: `lg:${target.oldLgCode}`, lgCode: target.oldLgCode };
  }
  if (!target.oldAddress) return { kind: 'unresolved', problem: 'route.unknown: give oldLgCode or oldAddress' };
  const place = resolveAddress(target.oldAddress, tables);
  if (!place.lgCode)
    return { kind: 'unresolved', problem: 'route.unknownMunicipality: the old address does not name a known municipality; give oldLgCode' };
  if (indexOf(tables).wardsOf.has(place.lgCode)) {
    return { kind: 'unresolved', problem: 'route.wardRequired: the old address names a designated city without its ward; give oldLgCode' };
  }
  return routeMoveOutCertRequest({ oldLgCode: place.lgCode }, served, tables);
}

/**
 * Existence test for lgCode validation: false only when the code's prefecture is listed completely
 * in the tables and the code is not among them; other prefectures cannot be judged (true).
 */
export function knownMunicipalityPredicate(tables: CodeTables = DEFAULT_CODE_TABLES): (lgCode: string) => boolean {
  const complete = new Set((tables.completePrefectures ?? []).map((p) => p.slice(0, 2)));
  const codes = knownMunicipalityCodes(tables);
  return (lgCode) => !complete.has(lgCode.slice(0, 2)) || codes.has(lgCode);
}

/** Every municipality code in the tables (e.g. for the `known` set of lgCode validation). */
export function knownMunicipalityCodes(tables: CodeTables = DEFAULT_CODE_TABLES): Set<string> {
  return new Set(tables.municipalities.map((m) => m.code));
}
