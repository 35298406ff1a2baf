import { SimError } from '../node.js';
import type { SimDirectory, SimPerson } from '../directory.js';
import { ERROR_CODES, type Envelope, type ErrorDetail } from '../../platform/envelope.js';

/**
 * A person as the contract's identity record: generated people carry no status (they are all current);
 * notified records carry theirs.
 */
export function recordOf(p: SimPerson): SimPerson {
  return { ...p, status: p.status ?? (p.changeReason === 'delete' ? 'deleted' : 'current') };
}

/** An upstream `error` reply passed on by a relaying node, its details kept. */
export function relayedError(r: Envelope, fallback: string): SimError {
  const details = Array.isArray(r.body.details) ? (r.body.details as ErrorDetail[]) : [];
  return new SimError(ERROR_CODES.find((c) => c === r.body.code) ?? 'internal', String(r.body.message ?? fallback), details);
}

const fold = (s: unknown) => String(s ?? '').replace(/[\s\u3000]/g, '');

/** The person a request names by 住民票コード, 個人番号 or the 4 items (name + birth date [+ sex]). */
export function findPerson(dir: SimDirectory, body: Record<string, unknown>): SimPerson | undefined {
  if (body.by === 'residentCode' || (body.by === undefined && typeof body.residentCode === 'string'))
    return dir.byResidentCode(String(body.residentCode));
  if (body.by === 'myNumber') return dir.byMyNumber(String(body.myNumber));
  const hits = dir.search({ name: String(body.name ?? ''), birthDate: body.birthDate as string | undefined });
  if (hits === 'too_many')
    throw new SimError('too_many_hits', 'more than 50 people match; narrow the search', [
      { path: 'body', problem: 'search.tooManyHits: more than 50 people match' },
    ]);
  const bySex = body.sex ? hits.filter((p) => p.sex === body.sex) : hits;
  return bySex.length === 1 ? bySex[0] : undefined;
}

/** 本人確認: match when every item given equals the record's. */
export function verifyAgainst(p: SimPerson | undefined, body: Record<string, unknown>): 'match' | 'mismatch' | 'notFound' {
  if (!p) return 'notFound';
  if (body.by !== 'fourItems') return 'match';
  const same = fold(p.name) === fold(body.name) && p.birthDate === body.birthDate && (!body.sex || p.sex === body.sex);
  return same ? 'match' : 'mismatch';
}

export function searchHits(
  dir: SimDirectory,
  body: Record<string, unknown>,
  route: 'pref' | 'national',
  lgCodePrefix?: string,
): Record<string, unknown> {
  const cap = typeof body.maxHits === 'number' ? body.maxHits : 50;
  const hits = dir.search(
    {
      name: body.name as string | undefined,
      kana: body.kana as string | undefined,
      birthDate: body.birthDate as string | undefined,
      address: body.address as string | undefined,
      lgCodePrefix,
    },
    cap,
  );
  if (hits === 'too_many')
    throw new SimError('too_many_hits', `more than ${cap} people match; narrow the search`, [
      { path: 'body', problem: `search.tooManyHits: more than ${cap} people match` },
    ]);
  return { route, hitCount: hits.length, hits: hits.map(recordOf) };
}
