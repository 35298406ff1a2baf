// Envelope and body fuzz cases for req/{type}, each with the refusal the contract demands:
// code, the reply's corr (the request id when one can be read, else null) and where the detail points.
import { uuidv7 } from '../../platform/envelope.js';
import { EXAMPLE_BODIES } from '../../gateway/messages/examples.js';
import type { Rng } from './prng.js';

export interface EnvelopeCase {
  label: string;
  type: string;
  payload: Buffer;
  expect: { code: 'invalid_request' | 'unauthorized'; corr: string | null; path: RegExp };
}

const HOSTILE_VALUES: Array<[string, () => unknown]> = [
  ['huge number', () => 1e308],
  ['overflowing number', () => '__RAW__1e999'],
  ['negative zero', () => -0],
  ['unsafe integer', () => 2 ** 64],
  ['fraction', () => 0.5],
  ['null', () => null],
  ['boolean', () => true],
  ['array', () => [1, 2, 3]],
  ['object', () => ({ a: 1 })],
  ['empty string', () => ''],
  ['overlong string', () => 'あ'.repeat(70_000)],
  ['NUL in string', () => 'a\u0000b'],
  ['lone surrogate', () => '\ud800x'],
  ['script tag', () => '<script>alert(1)</script>'],
  ['deep object', () => deep(2000)],
  ['numeric string', () => '1e309'],
];

function deep(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

function json(value: unknown): string {
  // JSON.stringify cannot write 1e999 (it would be Infinity → null): splice the literal in raw.
  return JSON.stringify(value).replace(/"__RAW__([^"]*)"/g, '$1');
}

const validBody = () => structuredClone(EXAMPLE_BODIES['identity.update'].request) as { record: Record<string, unknown> };
const recordFields = Object.keys(validBody().record).filter((k) => validBody().record[k] !== undefined);

export function envelopeCase(r: Rng, n: number): EnvelopeCase {
  const id = uuidv7();
  const type = 'identity.update';
  const env = (over: Record<string, unknown>) => ({ v: 1, id, type, body: validBody(), ...over });
  const kind = r.int(12);
  const body = (label: string, b: unknown, path: RegExp): EnvelopeCase => ({
    label,
    type,
    payload: Buffer.from(json(env({ body: b }))),
    expect: { code: 'invalid_request', corr: id, path },
  });
  switch (kind) {
    case 0: {
      // a record field gets a hostile value
      const field = r.pick(recordFields);
      // An address is free text: markup or digits are valid there (escaping is the UI's job).
      const [name, make] = r.pick(HOSTILE_VALUES.filter(([l]) => !(field === 'address' && (l === 'script tag' || l === 'numeric string'))));
      const b = validBody();
      b.record[field] = make();
      return body(`record.${field} = ${name}`, b, new RegExp(`^body\\.record(\\.${field})?$`));
    }
    case 1: {
      // prototype-pollution keys at any depth of the body
      const key = r.pick(['__proto__', 'constructor', 'prototype']);
      const where = r.int(2);
      const text =
        where === 0
          ? json(env({})).replace('"body":{', `"body":{"${key}":{"polluted":"yes"},`)
          : json(env({})).replace('"record":{', `"record":{"${key}":{"polluted":"yes"},`);
      return {
        label: `${key} key in ${where ? 'body.record' : 'body'}`,
        type,
        payload: Buffer.from(text),
        expect: { code: 'invalid_request', corr: id, path: new RegExp(`^body${where ? '\\.record' : ''}\\.${key}$`) },
      };
    }
    case 2: {
      // the body itself has the wrong type
      const [name, make] = r.pick(HOSTILE_VALUES.filter(([l]) => l !== 'object' && l !== 'deep object'));
      return {
        label: `body = ${name}`,
        type,
        payload: Buffer.from(json(env({ body: make() }))),
        expect: { code: 'invalid_request', corr: id, path: /^body$/ },
      };
    }
    case 3:
      return body('record missing', {}, /^body\.record$/);
    case 4: {
      // envelope fields with wrong types or values (strings that fit to/corr are valid there)
      const field = r.pick(['v', 'type', 'to', 'at', 'corr']);
      const fits = (v: unknown) =>
        typeof v === 'string' && ((field === 'to' && v.length <= 80) || (field === 'corr' && v.length >= 1 && v.length <= 64));
      const [name, make] = r.pick(HOSTILE_VALUES.filter(([, m]) => !fits(m()) && !(field === 'corr' && m() === null)));
      return {
        label: `envelope ${field} = ${name}`,
        type,
        payload: Buffer.from(json(env({ [field]: make() }))),
        expect: { code: 'invalid_request', corr: id, path: new RegExp(`^${field}$`) },
      };
    }
    case 5: {
      // an id that is not usable as a corr: the reply still comes, uncorrelated
      const bad = r.pick([12345, null, '', 'x'.repeat(65), ['a'], { id: 'x' }]);
      return {
        label: `id = ${JSON.stringify(bad).slice(0, 20)}`,
        type,
        payload: Buffer.from(json(env({ id: bad }))),
        expect: { code: 'invalid_request', corr: null, path: /^id$/ },
      };
    }
    case 6: {
      // an unusual but readable id: refused, and the reply names it
      const odd = `bad id!${n}`;
      return {
        label: 'id with spaces',
        type,
        payload: Buffer.from(json(env({ id: odd }))),
        expect: { code: 'invalid_request', corr: odd, path: /^id$/ },
      };
    }
    case 7:
      return {
        label: 'unknown envelope key',
        type,
        payload: Buffer.from(json(env({ ['x' + r.int(99)]: 1 }))),
        expect: { code: 'invalid_request', corr: id, path: /^\(envelope\)$/ },
      };
    case 8:
      return {
        label: 'forged from',
        type,
        payload: Buffer.from(json(env({ from: r.pick(['term-01', 'lg:131016', 'rr-02', 'appliance']) }))),
        expect: { code: 'unauthorized', corr: id, path: /^from$/ },
      };
    case 9: {
      // bytes that are not UTF-8 / not JSON / too deep to parse
      const variants: Array<[string, Buffer]> = [
        [
          'invalid UTF-8',
          Buffer.concat([
            Buffer.from(`{"v":1,"id":"${id}","type":"${type}","body":{"x":"`),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from('"}}'),
          ]),
        ],
        [
          'overlong UTF-8 encoding',
          Buffer.concat([Buffer.from(`{"v":1,"id":"${id}","type":"${type}","body":{"x":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]),
        ],
        ['truncated JSON', Buffer.from(json(env({})).slice(0, 1 + r.int(60)))],
        ['deep array', Buffer.from('['.repeat(100_000) + ']'.repeat(100_000))],
        ['empty payload', Buffer.alloc(0)],
        ['JSON scalar', Buffer.from(r.pick(['1e999', 'null', '"x"', 'true']))],
        ['random bytes', r.bytes(1 + r.int(300))],
      ];
      const [label, payload] = r.pick(variants);
      // Bad UTF-8 around a readable id is still answered to that id; other unparseable payloads cannot
      // be correlated; a JSON scalar parses but is no envelope.
      const corr = label.includes('UTF-8') ? id : null;
      return {
        label,
        type,
        payload,
        expect: { code: 'invalid_request', corr, path: label === 'JSON scalar' ? /^\(envelope\)$/ : /^\(payload\)$/ },
      };
    }
    case 10:
      return {
        label: 'type differs from topic',
        type,
        payload: Buffer.from(json(env({ type: 'identity.notify' }))),
        expect: { code: 'invalid_request', corr: id, path: /^type$/ },
      };
    default: {
      // an overlong string in a nested record field, byte-heavy (4-byte characters)
      const b = validBody();
      b.record[r.pick(['name', 'address', 'nameKana'])] = '𠮷'.repeat(20_000);
      return body('overlong 4-byte string', b, /^body\.record\.(name|address|nameKana)$/);
    }
  }
}
