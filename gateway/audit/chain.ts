// Hash chain: hash = SHA-256(canonical JSON of { event, prev, seq }). Canonical = sorted keys, no
// whitespace, so the hash does not depend on how an object happened to be built.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';

export const GENESIS_HASH = '0'.repeat(64);
export const HEX64 = /^[0-9a-f]{64}$/;

export interface AuditEntry {
  seq: number;
  prev: string;
  hash: string;
  event: AuditEvent;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export function entryHash(prev: string, seq: number, event: unknown): string {
  return createHash('sha256').update(canonicalJson({ event, prev, seq }), 'utf8').digest('hex');
}

/** Storage keys inside the audit sublevel. */
export const entryKey = (seq: number) => `e/${seq.toString().padStart(16, '0')}`;
export const checkpointKey = (seq: number) => `c/${seq.toString().padStart(16, '0')}`;
export const certKey = (kid: string) => `cert/${kid}`;
export const ENTRY_RANGE = { gte: 'e/', lt: 'e0' };
export const CHECKPOINT_RANGE = { gte: 'c/', lt: 'c0' };
export const HEAD_KEY = 'head';
export const ANCHOR_KEY = 'anchor';
export const EXPORTED_KEY = 'exported';
export const ENTRY_KEY_RE = /^e\/(\d{16})$/;
