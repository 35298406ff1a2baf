// Where a data key rotation's progress is kept so that it survives a restart: one JSON record in
// the keyring's sublevel, next to the keys it is about. Only ids, counters, sublevel names, times
// and the operator's account id (as in the audit trail): no key material, no personal data.
import { SUBLEVELS, type Db } from '../../platform/store/db.js';
import type { DataKeyRotationStatus } from './rotation.js';

/** Outside the keyring's own ranges (`data-key/…`, `current-data-key`, `secret/…`). */
export const ROTATION_STATE_KEY = 'rotation/data-key';

/**
 * The status of rotation.ts as stored: the fields a stored rotation always has made required, plus
 * the current key when the rotation was asked for (tells on resume whether the new key was made).
 */
export type PersistedRotation = Omit<DataKeyRotationStatus, 'state' | 'by' | 'startedAt' | 'finishedSublevels' | 'resumedAt'> & {
  v: 1;
  state: Exclude<DataKeyRotationStatus['state'], 'idle'>;
  by: string;
  startedAt: string;
  previousKeyId: number;
  finishedSublevels: string[];
  resumedAt: string[];
};

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

/** Why a stored record cannot be used, or undefined when it can. */
function problem(r: Partial<PersistedRotation>): string | undefined {
  if (r.v !== 1) return `unknown version ${String(r.v)}`;
  if (!['running', 'done', 'failed'].includes(r.state as string)) return `unknown state ${String(r.state)}`;
  if (typeof r.by !== 'string' || typeof r.startedAt !== 'string') return 'no operator or start time';
  if (!isNum(r.previousKeyId) || (r.newKeyId !== undefined && !isNum(r.newKeyId))) return 'bad key ids';
  for (const k of ['passes', 'scanned', 'rewritten', 'skippedConcurrent', 'restored', 'unreadable'] as const)
    if (!isNum(r[k])) return `bad counter ${k}`;
  if (!Array.isArray(r.retired) || !r.retired.every(isNum)) return 'bad retired list';
  if (!isStrings(r.finishedSublevels) || !isStrings(r.resumedAt)) return 'bad sublevel or resume list';
  if (
    typeof r.remaining !== 'object' ||
    r.remaining === null ||
    !Object.values(r.remaining).every((per) => typeof per === 'object' && per !== null && Object.values(per).every(isNum))
  )
    return 'bad remaining counts';
  if (typeof r.complete !== 'boolean') return 'bad complete flag';
  if ((r.finishedAt !== undefined && typeof r.finishedAt !== 'string') || (r.detail !== undefined && typeof r.detail !== 'string'))
    return 'bad end time or detail';
  return undefined;
}

export interface RotationStateStore {
  load(): Promise<PersistedRotation | undefined>;
  save(r: PersistedRotation): Promise<void>;
}

export function rotationStateStore(db: Db): RotationStateStore {
  const store = db.sublevel<string, unknown>(SUBLEVELS.keys, { valueEncoding: 'json' });
  return {
    /** Throws with the reason when the stored record is malformed (the caller reports it, never resumes blindly). */
    async load() {
      const r = (await store.get(ROTATION_STATE_KEY)) as Partial<PersistedRotation> | undefined;
      if (r === undefined) return undefined;
      const why = typeof r === 'object' && r !== null ? problem(r) : 'not an object';
      if (why) throw new Error(`stored data key rotation record is unusable: ${why}`);
      return r as PersistedRotation;
    },
    async save(r) {
      await store.put(ROTATION_STATE_KEY, r);
    },
  };
}
