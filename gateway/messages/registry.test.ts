import { describe, expect, expectTypeOf, it } from 'vitest';
import { recordHash, RECORD_HASH_FIELDS } from '../../domain/consistency.js';
import { residentCodeCheckDigit } from '../../domain/identifiers.js';
import { EXAMPLE_BODIES, EXAMPLE_RECORD } from './examples.js';
import { fieldKit } from './fields.js';
import { identityRecordSchema } from './identityRecord.js';
import { MAX_DIGESTS_PER_MESSAGE, MAX_ENTRIES_PER_MESSAGE, MAX_RECORDS_PER_MESSAGE } from './consistency.js';
import {
  createMessageRegistry,
  MESSAGE_TYPE_NAMES,
  MESSAGE_TYPES,
  parseRequest,
  parseResult,
  specOf,
  validateBody,
  type MessageType,
  type ResultBody,
} from './registry.js';

const registry = createMessageRegistry({ today: () => '2026-11-24' });
const check = (type: string, body: unknown) => validateBody(type, body, registry);
const details = (type: string, body: unknown) => {
  const r = check(type, body);
  if (r.ok) throw new Error(`${type} unexpectedly accepted`);
  expect(r.error.code).toBe('invalid_request');
  return r.error.details;
};

/** The contract table (CONTRACT.md "Message types"), type by type. */
const CONTRACT_TYPES = [
  'identity.update',
  'identity.notify',
  'identity.verify',
  'moveout.cert.request',
  'moveout.cert.store',
  'moveout.cert',
  'movein.notice',
  'card.continue',
  'identity.search',
  'jlis.inquiry',
  'consistency.check',
  'consistency.result',
  'card.delivery',
  'card.event',
  'addressee.update',
  'serial.request',
  'code.request',
  'code.deliver',
  'copy.update',
  'info.query',
];

describe('registry', () => {
  it("covers exactly the contract's message types, each with kind and version", () => {
    expect([...MESSAGE_TYPE_NAMES].sort()).toEqual([...CONTRACT_TYPES].sort());
    for (const t of MESSAGE_TYPE_NAMES) {
      expect(['interactive', 'durable', 'push', 'relay', 'ack']).toContain(MESSAGE_TYPES[t].kind);
      expect(MESSAGE_TYPES[t].schemaVersion).toBe(1);
      expect(MESSAGE_TYPES[t].description.length).toBeGreaterThan(10);
    }
    for (const t of [
      'identity.verify',
      'identity.search',
      'jlis.inquiry',
      'moveout.cert.request',
      'serial.request',
      'info.query',
      'code.request',
    ]) {
      expect(specOf(t as MessageType).result, t).toBeDefined();
    }
    expect(MESSAGE_TYPES['code.request'].kind).toBe('ack');
  });
  it('accepts every example request and result', () => {
    for (const t of MESSAGE_TYPE_NAMES) {
      const ex = EXAMPLE_BODIES[t];
      expect(check(t, ex.request), t).toMatchObject({ ok: true });
      if (ex.result) expect(check(`${t}.result`, ex.result), `${t}.result`).toMatchObject({ ok: true });
      expect(Boolean(ex.result), `${t} example result`).toBe(specOf(t).result !== undefined);
    }
  });
  it('validates error bodies and refuses unknown types and non-objects', () => {
    expect(check('error', { code: 'too_many_hits', message: 'm', details: [] })).toMatchObject({ ok: true });
    expect(details('error', { code: 'nope', message: 'm', details: [] })[0]!.path).toBe('body.code');
    expect(check('nope.nope', {})).toEqual({
      ok: false,
      error: {
        code: 'invalid_request',
        message: 'unknown message type "nope.nope"',
        details: [{ path: 'type', problem: 'type.unknown: not a message type of the contract' }],
      },
    });
    expect(details('moveout.cert.result', {})).toEqual([{ path: 'type', problem: 'type.unknown: not a message type of the contract' }]);
    for (const b of ['x', null, [], 3])
      expect(details('identity.update', b)).toEqual([{ path: 'body', problem: 'body.type: expected a JSON object' }]);
  });
  it('the record schema has exactly the hashed fields, in the hash order', () => {
    const schema = identityRecordSchema(fieldKit({ checkResidentCodeDigit: true, today: () => '2026-11-24' }));
    expect(Object.keys(schema.shape)).toEqual([...RECORD_HASH_FIELDS]);
  });
});

describe('consistency message sizes', () => {
  it('the largest valid phase messages stay under the default 1 MiB payload limit', () => {
    const base = { checkId: 'cc-2026-11-24-0001', lgCode: '242012', snapshotSeq: 3_700_000 };
    const codeOf = (i: number) => {
      const b = String(i).padStart(10, '0');
      return b + residentCodeCheckDigit(b);
    };
    const bodies = [
      {
        phase: 'buckets',
        ...base,
        bucketBits: 12,
        offset: 0,
        digests: Array.from({ length: MAX_DIGESTS_PER_MESSAGE }, () => 'f'.repeat(64)),
      },
      {
        phase: 'entries',
        ...base,
        bucket: 4095,
        entries: Array.from({ length: MAX_ENTRIES_PER_MESSAGE }, (_, i) => ({ residentCode: codeOf(i), hash: 'f'.repeat(64) })),
      },
      {
        phase: 'records',
        ...base,
        records: Array.from({ length: MAX_RECORDS_PER_MESSAGE }, (_, i) => ({
          ...EXAMPLE_RECORD,
          residentCode: codeOf(i),
          address: '三'.repeat(200),
          name: '𠮷'.repeat(50),
          alias: 'A'.repeat(100),
        })),
      },
    ];
    for (const b of bodies) {
      expect(check('consistency.check', b).ok, b.phase).toBe(true);
      const envelope = {
        v: 1,
        id: 'x'.repeat(36),
        type: 'consistency.check',
        from: 'lg:242012',
        to: 'pref:240001',
        at: '2026-11-24T10:15:00.123+09:00',
        corr: null,
        body: b,
      };
      expect(Buffer.byteLength(JSON.stringify(envelope)), b.phase).toBeLessThan(1024 * 1024);
    }
    const allBad = { ...bodies[1], entries: Array.from({ length: 300 }, () => ({ residentCode: 'x', hash: 'y' })) };
    const d = details('consistency.check', allBad);
    expect(d).toHaveLength(100);
    expect(d[99]).toEqual({ path: 'body', problem: 'details.truncated: 501 more problems not listed' });
    expect(check('error', { code: 'invalid_request', message: 'm', details: d }).ok).toBe(true);
    const tooMany = {
      ...bodies[1],
      entries: [...(bodies[1] as { entries: unknown[] }).entries, { residentCode: codeOf(99_999), hash: 'f'.repeat(64) }],
    };
    expect(details('consistency.check', tooMany)).toEqual([
      { path: 'body.entries', problem: 'entries.length: at most 5000; use more bucketBits' },
    ]);
  });
});

describe('typed parsing', () => {
  it('parseRequest / parseResult give the body its static type', () => {
    const r = parseRequest('identity.search', EXAMPLE_BODIES['identity.search'].request, registry);
    if (!r.ok) throw new Error('rejected');
    expectTypeOf(r.value.dutyCode).toEqualTypeOf<string>();
    expect(r.value.birthDate).toBe('1989-01-07');
    const res = parseResult('identity.search', EXAMPLE_BODIES['identity.search'].result, registry);
    if (!res.ok) throw new Error('rejected');
    expectTypeOf(res.value.route).toEqualTypeOf<'local' | 'pref' | 'national'>();
    expect(res.value.hits[0]!.residentCode).toBe('24201200012');
    expectTypeOf<ResultBody<'moveout.cert'>>().toEqualTypeOf<never>();
    expect(parseResult('moveout.cert', {}, registry)).toMatchObject({ ok: false, error: { details: [{ path: 'type' }] } });
  });
});

describe('conversions', () => {
  it('converts 和暦 to ISO in the validated value; stored record hash uses the ISO form', () => {
    const r = check('identity.update', { record: { ...EXAMPLE_RECORD, birthDate: '昭和64年1月7日', changeDate: 'R8.4.1' } });
    expect(r.ok).toBe(true);
    const rec = (r as { value: { record: Record<string, unknown> } }).value.record;
    expect(rec.birthDate).toBe('1989-01-07');
    expect(rec.changeDate).toBe('2026-04-01');
    expect(recordHash(rec)).toBe(recordHash(EXAMPLE_RECORD));
  });
});

describe('rejections name the field and the rule', () => {
  const rec = (over: Record<string, unknown>) => ({ record: { ...EXAMPLE_RECORD, updateSeq: undefined, ...over } });
  const cases: [string, Record<string, unknown>, string, string][] = [
    [
      'wrong My Number check digit',
      rec({ myNumber: '983205673210' }),
      'body.record.myNumber',
      'myNumber.checkDigit: check digit does not match (個人番号)',
    ],
    [
      'wrong resident code check digit',
      rec({ residentCode: '24201200013' }),
      'body.record.residentCode',
      'residentCode.checkDigit: check digit does not match (住民票コード)',
    ],
    [
      'wrong lg code check digit',
      rec({ lgCode: '242010' }),
      'body.record.lgCode',
      'lgCode.checkDigit: check digit does not match (全国地方公共団体コード)',
    ],
    [
      'prefecture code as municipality',
      rec({ lgCode: '240001' }),
      'body.record.lgCode',
      "lgCode.prefecture: 240001 is a prefecture's code, not a municipality's",
    ],
    [
      'unknown municipality code',
      rec({ lgCode: '242195' }),
      'body.record.lgCode',
      'lgCode.unknown: 242195 is not a known municipality code',
    ],
    ['impossible date', rec({ birthDate: '2023-02-30' }), 'body.record.birthDate', 'date.impossible: 2023-02 has no day 30'],
    [
      'impossible 和暦',
      rec({ birthDate: '昭和64年1月8日' }),
      'body.record.birthDate',
      'date.era: 昭和64年1月8日 is outside 昭和 (1926-12-25 to 1989-01-07)',
    ],
    ['future birth', rec({ birthDate: '2026-11-25' }), 'body.record.birthDate', 'date.future: 2026-11-25 is after 2026-11-24'],
    [
      'unknown change date parts',
      rec({ changeDate: '2026-04-00' }),
      'body.record.changeDate',
      'date.unknownNotAllowed: a complete date is required here',
    ],
    ['sex code', rec({ sex: '9' }), 'body.record.sex', 'sex.code: expected "1" (male) or "2" (female)'],
    ['sex as number', rec({ sex: 1 }), 'body.record.sex', 'sex.type: expected a string'],
    [
      'name control char',
      rec({ name: '津\u0000花子' }),
      'body.record.name',
      'name.charset: U+0000 (control character) is not allowed at position 1',
    ],
    [
      'kana with kanji',
      rec({ nameKana: '津' }),
      'body.record.nameKana',
      'nameKana.charset: U+6D25 (character) is not allowed at position 0',
    ],
    [
      'alias private use',
      rec({ alias: '\uE000' }),
      'body.record.alias',
      'alias.charset: U+E000 (private-use character) is not allowed at position 0',
    ],
    ['postcode', rec({ postcode: '514' }), 'body.record.postcode', 'postcode.format: expected NNN-NNNN or NNNNNNN (郵便番号)'],
    [
      'change reason',
      rec({ changeReason: '記載' }),
      'body.record.changeReason',
      'changeReason.code: expected one of "add", "delete", "correct"',
    ],
    [
      'delete without deleted status',
      rec({ changeReason: 'delete' }),
      'body.record.status',
      'record.deleteStatus: a 消除 (delete) change requires status "deleted"',
    ],
    ['missing name', rec({ name: undefined }), 'body.record.name', 'name.required: missing'],
    ['unknown field', rec({ nickname: 'x' }), 'body.record.nickname', 'field.unknown: not a field of this message'],
    ['negative sequence', rec({ updateSeq: -1 }), 'body.record.updateSeq', 'updateSeq.range: expected 0..9007199254740991'],
  ];
  it.each(cases)('%s', (_what, body, path, problem) => {
    expect(details('identity.update', body)).toEqual([{ path, problem }]);
  });

  it('a notification must carry the update sequence number', () => {
    expect(details('identity.notify', rec({}))).toEqual([
      { path: 'body.record.updateSeq', problem: 'record.updateSeq: a notification carries the update sequence number' },
    ]);
  });

  it('search needs the duty code, operator and terminal, a name and a second key', () => {
    const ok = EXAMPLE_BODIES['identity.search'].request;
    expect(details('identity.search', { ...ok, dutyCode: undefined })).toEqual([
      { path: 'body.dutyCode', problem: 'dutyCode.required: missing' },
    ]);
    expect(details('identity.search', { ...ok, dutyCode: '' })).toEqual([
      { path: 'body.dutyCode', problem: 'dutyCode.format: expected 1-16 characters of A-Z a-z 0-9 _ - (事務コード)' },
    ]);
    expect(details('identity.search', { ...ok, operatorId: undefined, terminalId: undefined })).toEqual([
      { path: 'body.operatorId', problem: 'operatorId.required: missing' },
      { path: 'body.terminalId', problem: 'terminalId.required: missing' },
    ]);
    expect(details('identity.search', { dutyCode: 'J01', operatorId: 'o', terminalId: 't' })).toEqual([
      { path: 'body.name', problem: 'search.nameRequired: give name or kana' },
      { path: 'body.birthDate', problem: 'search.secondKey: a 4-item search needs birthDate or address with the name' },
    ]);
    expect(check('identity.search', { dutyCode: 'J01', operatorId: 'o', terminalId: 't', kana: 'たかはし', address: '四日市市' }).ok).toBe(
      true,
    );
    expect(details('identity.search', { ...ok, maxHits: 51 })).toEqual([
      { path: 'body.maxHits', problem: 'maxHits.range: expected 1..50' },
    ]);
    expect(details('identity.search.result', { route: 'local', hitCount: 2, hits: [EXAMPLE_RECORD] })).toEqual([
      { path: 'body.hitCount', problem: 'hitCount.mismatch: must equal the number of hits' },
    ]);
  });

  it('discriminated requests name the discriminator', () => {
    expect(details('identity.verify', { by: 'card' })).toEqual([
      { path: 'body.by', problem: 'by.code: expected "residentCode" or "fourItems"' },
    ]);
    expect(details('jlis.inquiry', { by: 'myNumber', myNumber: '123456789018', operatorId: 'o', terminalId: 't' })).toEqual([
      { path: 'body.dutyCode', problem: 'dutyCode.required: missing' },
    ]);
    expect(details('consistency.check', { phase: 'everything' })).toEqual([
      { path: 'body.phase', problem: 'phase.code: expected "snapshot", "buckets", "entries", "records" or "full"' },
    ]);
    expect(details('consistency.check', { ...EXAMPLE_BODIES['consistency.check'].request, digests: ['ABC'] })).toEqual([
      { path: 'body.digests.0', problem: 'hash.format: expected 64 lower-case hex digits (SHA-256)' },
    ]);
  });

  it('move-out, card and number-linkage rules', () => {
    const req = EXAMPLE_BODIES['moveout.cert.request'].request;
    expect(details('moveout.cert.request', { ...req, residentCode: undefined, oldAddress: undefined })).toEqual([
      { path: 'body.residentCode', problem: 'moveout.personKey: give residentCode or myNumber' },
      { path: 'body.oldLgCode', problem: 'moveout.target: give oldLgCode or oldAddress' },
    ]);
    const notice = EXAMPLE_BODIES['movein.notice'].request;
    expect(details('movein.notice', { ...notice, oldLgCode: '242012' })).toEqual([
      { path: 'body.newLgCode', problem: 'movein.sameMunicipality: newLgCode must differ from oldLgCode' },
    ]);
    const batch = EXAMPLE_BODIES['card.delivery'].request as { items: unknown[] };
    expect(details('card.delivery', { ...batch, items: [batch.items[0], batch.items[0]] })).toEqual([
      { path: 'body.items.1.residentCode', problem: 'items.duplicate: a resident appears twice in the batch' },
    ]);
    expect(details('card.delivery', { ...batch, items: [] })).toEqual([{ path: 'body.items', problem: 'items.empty: at least one item' }]);
    expect(details('card.event', { ...EXAMPLE_BODIES['card.event'].request, event: 'destroy' })[0]!.problem).toBe(
      'event.code: expected one of "issue", "suspend", "liftSuspension", "revoke", "collect", "return"',
    );
    expect(details('code.request', { lgCode: '242012', serialNo: '123456789018', myNumber: '123456789018' })).toEqual([
      { path: 'body.serialNo', problem: 'serialNo.notMyNumber: a processing serial number must not be a My Number' },
    ]);
    expect(details('code.request', { ...EXAMPLE_BODIES['code.request'].request, addresseeName: 'x' })).toEqual([
      { path: 'body.addresseeName', problem: 'field.unknown: not a field of this message' },
    ]);
    expect(details('copy.update', { lgCode: '242012', addresseeNo: 'A1', infoType: 'T', operation: 'add' })).toEqual([
      { path: 'body.data', problem: 'copy.data: required unless operation is "delete"' },
    ]);
  });

  it('the 住民票コード check digit follows the switch', () => {
    const body = {
      residentCode: '24201200013',
      name: '伊勢 太郎',
      birthDate: '1975-00-00',
      oldLgCode: '242039',
      operatorId: 'o',
      terminalId: 't',
    };
    expect(details('moveout.cert.request', body)).toEqual([
      { path: 'body.residentCode', problem: 'residentCode.checkDigit: check digit does not match (住民票コード)' },
    ]);
    const lenient = createMessageRegistry({ checkResidentCodeDigit: false, today: () => '2026-11-24' });
    expect(validateBody('moveout.cert.request', body, lenient).ok).toBe(true);
    expect(validateBody('moveout.cert.request', { ...body, residentCode: '2420120001' }, lenient)).toMatchObject({
      ok: false,
      error: { details: [{ path: 'body.residentCode', problem: 'residentCode.format: expected 11 digits (住民票コード)' }] },
    });
  });

  it('every problem of every rejection starts with a rule id', () => {
    const bad: unknown[] = [{}, { a: 1 }, { record: {} }, { record: { residentCode: 5 } }, { phase: 'full', records: [{}] }];
    for (const t of MESSAGE_TYPE_NAMES) {
      for (const b of bad) {
        const r = check(t, b);
        if (r.ok) continue;
        for (const d of r.error.details) {
          expect(d.path.startsWith('body'), `${t} ${d.path}`).toBe(true);
          expect(d.problem, `${t} ${d.path}`).toMatch(/^[A-Za-z][\w.]*: /);
        }
      }
    }
    // The check digit of every example resident code is real, so the switch test above is meaningful.
    expect(residentCodeCheckDigit('2420120001')).toBe(2);
  });
});
