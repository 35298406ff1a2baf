// Key layout inside the broker sublevel. Client ids are escaped so that '!' only ever separates
// fields: a prefix scan for client "abc" must not touch client "abc!x" or "abcd".
import { seqKey } from '../../platform/store/db.js';

const NEEDS_ESCAPE = /[%!]/;

export function escapeId(id: string): string {
  return NEEDS_ESCAPE.test(id) ? id.replace(/%/g, '%25').replace(/!/g, '%21') : id;
}

export function unescapeId(s: string): string {
  return s.includes('%') ? s.replace(/%21/g, '!').replace(/%25/g, '%') : s;
}

/** '"' is the code unit after '!': the exclusive upper bound of every `…!` prefix. */
const AFTER_SEP = '"';

export const META_SEQ = 'm!seq';
/** Every ingress seq below this value is fanned out: its ingress entry is garbage. */
export const META_FANNED = 'm!fanned';

export const subKey = (clientId: string, topic: string): string => `s!${escapeId(clientId)}!${topic}`;
export const subRange = (clientId: string) => ({ gt: `s!${escapeId(clientId)}!`, lt: `s!${escapeId(clientId)}${AFTER_SEP}` });
export const ALL_SUBS = { gt: 's!', lt: `s${AFTER_SEP}` };

export const retainedKey = (topic: string): string => `r!${topic}`;
export const ALL_RETAINED = { gt: 'r!', lt: `r${AFTER_SEP}` };

export const outKey = (clientId: string, seq: number): string => `o!${escapeId(clientId)}!${seqKey(seq)}`;
export const outRange = (clientId: string) => ({ gt: `o!${escapeId(clientId)}!`, lt: `o!${escapeId(clientId)}${AFTER_SEP}` });
export const ALL_OUT = { gt: 'o!', lt: `o${AFTER_SEP}` };

export const incomingKey = (clientId: string, messageId: number): string => `i!${escapeId(clientId)}!${messageId}`;
export const ALL_INCOMING = { gt: 'i!', lt: `i${AFTER_SEP}` };

export const willKey = (clientId: string): string => `w!${escapeId(clientId)}`;
export const ALL_WILLS = { gt: 'w!', lt: `w${AFTER_SEP}` };

/** Splits `x!{escapedId}!{rest}` into its client id and rest. */
export function splitClientKey(key: string): { clientId: string; rest: string } {
  const sep = key.indexOf('!', 2);
  return { clientId: unescapeId(key.slice(2, sep)), rest: key.slice(sep + 1) };
}
