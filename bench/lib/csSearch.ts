// The identity.search workload of bench:cs, shared by the in-process rounds and the fresh serving
// process (bench/cs-serve.ts), so both measure exactly the same queries.
import type { IdentityStore } from '../../gateway/cs/identityStore.js';
import type { IdentityChange, SearchQuery } from '../../gateway/cs/identityStoreTypes.js';
import { generateResidents, populationSpec } from '../../sim/residents.js';

export const spec = populationSpec('yokohama');

export function personAt(seed: string, i: number): IdentityChange {
  return [...generateResidents(spec, { seed, count: 1, start: i })][0]!;
}

/** Q realistic 4-item queries spread over the population, four kinds in turn. */
export function buildQueries(seed: string, n: number, q: number): Array<{ q: SearchQuery; code: string }> {
  const queries: Array<{ q: SearchQuery; code: string }> = [];
  for (let k = 0; k < q; k++) {
    const r = personAt(seed, Math.floor(((k + 0.37) * n) / q));
    const town = r.address.replace(/[0-9０-９一二三四五六七八九十]+(丁目|番).*$/, '');
    const block = r.address.replace(/(丁目|番地).*$/, '$1'); // up to 丁目 (or the 番地 number)
    const name = (r.alias && k % 2 === 0 ? r.alias : r.name)
      .replace(/髙/g, '高')
      .replace(/[齋齊]/g, '斎')
      .replace(/[邉邊]/g, '辺');
    const kana = r.alias && k % 2 === 0 ? r.aliasKana! : r.nameKana;
    const variants: SearchQuery[] = [
      { name, birthDate: r.birthDate },
      { kana, birthDate: r.birthDate },
      { name, address: block },
      { kana, address: town, sex: r.sex },
    ];
    queries.push({ q: variants[k % 4]!, code: r.residentCode });
  }
  return queries;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export interface SearchRound {
  p50ms: number;
  p99ms: number;
  maxMs: number;
  missed: number;
  tooManyHits: number;
  meanHits: number;
}

export async function searchRound(store: IdentityStore, queries: Array<{ q: SearchQuery; code: string }>): Promise<SearchRound> {
  const lat: number[] = [];
  let missed = 0,
    tooMany = 0,
    hitsTotal = 0;
  for (const { q, code } of queries) {
    const s = performance.now();
    const res = await store.search(q, { limit: 50 });
    lat.push(performance.now() - s);
    hitsTotal += res.total;
    if (res.truncated) tooMany++;
    else if (!res.hits.some((h) => h.residentCode === code)) missed++;
  }
  lat.sort((a, b) => a - b);
  return {
    p50ms: +pct(lat, 50).toFixed(2),
    p99ms: +pct(lat, 99).toFixed(2),
    maxMs: +lat[lat.length - 1]!.toFixed(2),
    missed,
    tooManyHits: tooMany,
    meanHits: +(hitsTotal / queries.length).toFixed(2),
  };
}
