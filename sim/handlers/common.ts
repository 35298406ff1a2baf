import { SimError } from '../node.js';
import type { SimDirectory, SimPerson } from '../directory.js';

export function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw new SimError('invalid_request', `body.${field} is required`);
  return v;
}

/** The person a request names by 住民票コード, 個人番号 or (name + birth date). */
export function findPerson(dir: SimDirectory, body: Record<string, unknown>): SimPerson | undefined {
  if (typeof body.residentCode === 'string') return dir.byResidentCode(body.residentCode);
  if (typeof body.myNumber === 'string') return dir.byMyNumber(body.myNumber);
  if (typeof body.name === 'string' && typeof body.birthDate === 'string') {
    const hits = dir.search({ name: body.name, birthDate: body.birthDate });
    if (hits === 'too_many') throw new SimError('too_many_hits', 'more than one person matches');
    return hits.length === 1 ? hits[0] : undefined;
  }
  throw new SimError('invalid_request', 'give residentCode, myNumber, or name and birthDate');
}

export function searchHits(dir: SimDirectory, body: Record<string, unknown>, lgCodePrefix?: string): Record<string, unknown> {
  const q = { name: body.name as string | undefined, kana: body.kana as string | undefined, birthDate: body.birthDate as string | undefined, address: body.address as string | undefined, lgCodePrefix };
  if (!q.name && !q.kana) throw new SimError('invalid_request', 'a search needs a name (kanji or kana)');
  if (!q.birthDate && !q.address) throw new SimError('invalid_request', 'a search needs a birth date or an address besides the name');
  const hits = dir.search(q);
  if (hits === 'too_many') throw new SimError('too_many_hits', 'more than 50 people match; narrow the search');
  return { hits, count: hits.length };
}
