// One valid example body per message type (request and result), all synthetic. Used by the
// generated docs and the tests; simulators and flow tests may reuse them.
import type { MessageType } from './registry.js';

export const EXAMPLE_RECORD = {
  residentCode: '24201200012',
  myNumber: '123456789018',
  name: '津\u3000花子',
  nameKana: 'ツ\u3000ハナコ',
  birthDate: '1989-01-07',
  sex: '2',
  address: '三重県津市西丸之内23番1号',
  postcode: '514-8611',
  lgCode: '242012',
  formerSurname: '髙橋',
  formerSurnameKana: 'タカハシ',
  changeReason: 'correct',
  changeDate: '2026-04-01',
  status: 'current',
  updateSeq: 42,
} as const;

const operator = { operatorId: 'op-0017', terminalId: 'term-01' };

const certificate = {
  certificateId: 'MO-242039-2026-000123',
  residentCode: '24203900011',
  myNumber: '983205673214',
  name: '伊勢\u3000太郎',
  birthDate: '1975-00-00',
  sex: '1',
  oldAddress: '三重県伊勢市岩渕1丁目7番29号',
  oldLgCode: '242039',
  plannedAddress: '三重県津市西丸之内23番1号',
  plannedMoveDate: '2026-11-30',
  issuedOn: '2026-11-20',
  expiresOn: '2026-12-30',
};

const hash = (c: string) => c.repeat(64);

export const EXAMPLE_BODIES: Record<MessageType, { request: Record<string, unknown>; result?: Record<string, unknown> }> = {
  'identity.update': {
    request: { record: { ...EXAMPLE_RECORD, updateSeq: undefined } },
    result: { residentCode: '24201200012', updateSeq: 42 },
  },
  'identity.notify': { request: { record: EXAMPLE_RECORD }, result: { accepted: true } },
  'identity.verify': {
    request: { by: 'fourItems', name: '津 花子', birthDate: '昭和64年1月7日', sex: '2', address: '津市西丸之内23-1', ...operator },
    result: { status: 'match', record: EXAMPLE_RECORD },
  },
  'moveout.cert.request': {
    request: { residentCode: '24203900011', name: '伊勢 太郎', birthDate: '1975-00-00', oldAddress: '伊勢市岩渕1-7-29', ...operator },
    result: { certificate },
  },
  'moveout.cert.store': { request: { certificate }, result: { certificateId: certificate.certificateId, expiresOn: '2026-12-30' } },
  'moveout.cert': { request: { certificate, requestId: '0193b0f2-0000-7000-8000-000000000001' } },
  'movein.notice': {
    request: {
      residentCode: '24201200012',
      name: '津\u3000花子',
      birthDate: '1989-01-07',
      oldLgCode: '242039',
      newLgCode: '242012',
      newAddress: '三重県津市西丸之内23番1号',
      moveInDate: '2026-11-20',
      certificateId: certificate.certificateId,
      record: { ...EXAMPLE_RECORD, changeReason: 'add', updateSeq: undefined },
    },
    result: { accepted: true, updateSeq: 43 },
  },
  'card.continue': {
    request: {
      residentCode: '24201200012',
      myNumber: '123456789018',
      newLgCode: '242012',
      newAddress: '三重県津市西丸之内23番1号',
      moveInDate: '2026-11-20',
      ...operator,
    },
    result: { accepted: true, messageId: '0193b0f2-0000-7000-8000-000000000002' },
  },
  'identity.search': {
    request: { dutyCode: 'J01', ...operator, name: '高橋 花子', birthDate: 'S64.1.7', address: '三重県四日市市' },
    result: { route: 'pref', hitCount: 1, hits: [EXAMPLE_RECORD] },
  },
  'jlis.inquiry': {
    request: { by: 'myNumber', myNumber: '123456789018', dutyCode: 'J05', ...operator },
    result: { records: [EXAMPLE_RECORD] },
  },
  'consistency.check': {
    request: {
      phase: 'buckets',
      checkId: 'cc-2026-11-24',
      lgCode: '242012',
      snapshotSeq: 280_000,
      bucketBits: 12,
      offset: 0,
      digests: [hash('a'), hash('b')],
    },
    result: { phase: 'buckets', checkId: 'cc-2026-11-24', lgCode: '242012', offset: 0, differing: [1] },
  },
  'consistency.result': {
    request: {
      phase: 'entries',
      checkId: 'cc-2026-11-24',
      lgCode: '242012',
      bucket: 1,
      onlyAtServer: [],
      onlyAtCs: ['24201200020'],
      differing: ['24201200012'],
    },
  },
  'card.delivery': {
    request: {
      batchId: 'CD-242012-2026-11-24-01',
      lgCode: '242012',
      items: [
        {
          residentCode: '24201200012',
          myNumber: '123456789018',
          name: '津\u3000花子',
          birthDate: '1989-01-07',
          sex: '2',
          address: '三重県津市西丸之内23番1号',
          postcode: '5148611',
          reason: 'newIssue',
        },
      ],
    },
    result: { accepted: true, itemCount: 1 },
  },
  'card.event': {
    request: { event: 'liftSuspension', residentCode: '24201200012', eventDate: '令和8年11月20日', ...operator },
    result: { accepted: true },
  },
  'addressee.update': {
    request: { lgCode: '242012', addresseeNo: 'A000123456', operation: 'update', address: '三重県津市西丸之内23番1号' },
    result: { accepted: true },
  },
  'serial.request': { request: { lgCode: '242012', addresseeNo: 'A000123456' }, result: { serialNo: 'SN-20261124-0000017c2e' } },
  'code.request': {
    request: { lgCode: '242012', serialNo: 'SN-20261124-0000017c2e', myNumber: '123456789018' },
    result: { accepted: true },
  },
  'code.deliver': { request: { lgCode: '242012', serialNo: 'SN-20261124-0000017c2e', code: 'opaque-code-from-nws' } },
  'copy.update': {
    request: { lgCode: '242012', addresseeNo: 'A000123456', infoType: 'TAX-01', operation: 'update', data: { taxYear: 2026 } },
    result: { accepted: true },
  },
  'info.query': {
    request: { lgCode: '242012', addresseeNo: 'A000123456', infoType: 'INS-03', targetOrg: 'ORG-131016', procedure: 'P-0107' },
    result: { found: true, data: { insured: true } },
  },
};
