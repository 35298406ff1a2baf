// "Try it" requests of docs/messages.md: for every type a local system sends, a body that works
// against the embedded default as written (served municipality 242012 Tsu City, people of the
// deterministic simulation, seed `embedded-default`), the example system that sends it and the reply
// it gets. test/project/documented-examples.test.ts runs them, in page order, against a real appliance.
import { EXAMPLE_BODIES } from '../gateway/messages/examples.js';
import type { MessageType } from '../gateway/messages/registry.js';

export interface MessageTry {
  as: 'rr-01' | 'term-01' | 'nl-01';
  body: Record<string, unknown>;
  /** Subset of the reply the example must print. */
  reply: Record<string, unknown>;
  note?: string;
}

const operator = { operatorId: 'op-0017', terminalId: 'term-01' };
/** A simulated resident of Tsu City, not in the local store until the identity.update example adds her. */
const takahashi = {
  residentCode: '06275281814',
  myNumber: '958072293524',
  name: '高橋\u3000瞳',
  birthDate: '1981-11-03',
  sex: '2',
} as const;

const result = (type: string, body: Record<string, unknown>) => ({ type: `${type}.result`, body });

export const MESSAGE_TRIES: Partial<Record<MessageType, MessageTry>> = {
  'identity.update': {
    as: 'rr-01',
    note: 'adds a simulated resident of Tsu City to the local store (a second run: `conflict`, already registered).',
    body: {
      record: {
        ...takahashi,
        address: '三重県津市広明町1482番地',
        postcode: '514-0006',
        lgCode: '242012',
        changeReason: 'add',
        changeDate: '2007-09-10',
        status: 'current',
      },
    },
    reply: result('identity.update', { residentCode: takahashi.residentCode }),
  },
  'identity.verify': {
    as: 'term-01',
    note: 'four items of a simulated resident of Yokohama, answered by the simulated national server.',
    body: {
      by: 'fourItems',
      name: '伊藤 麻衣',
      birthDate: '1988-11-30',
      sex: '2',
      address: '神奈川県横浜市港北区大倉山一丁目23番11号',
      ...operator,
    },
    reply: result('identity.verify', { status: 'match', record: { residentCode: '86249105599' } }),
  },
  'moveout.cert.request': {
    as: 'term-01',
    note: 'a simulated resident of Yokkaichi (242021) moving to Tsu; the simulated CS of Yokkaichi issues the certificate.',
    body: {
      residentCode: '04103454617',
      name: '森川 進',
      birthDate: '1945-01-12',
      oldAddress: '三重県四日市市浜田町2483番地の1',
      ...operator,
    },
    reply: result('moveout.cert.request', { certificate: { residentCode: '04103454617', oldLgCode: '242021' } }),
  },
  'moveout.cert.store': {
    as: 'rr-01',
    note: "a resident of Tsu moving out: the certificate is held here for the new municipality's request (a second run: `conflict`).",
    body: {
      certificate: {
        certificateId: 'MO-242012-2026-000001',
        residentCode: '08397744087',
        myNumber: '155050385098',
        name: '山口\u3000菜々子',
        birthDate: '2002-07-06',
        sex: '2',
        oldAddress: '三重県津市雲出本郷町2178番地',
        oldLgCode: '242012',
        plannedAddress: '三重県四日市市浜田町1番地',
        plannedMoveDate: '2026-12-20',
        issuedOn: '2026-11-20',
        expiresOn: '2027-01-15',
      },
    },
    reply: result('moveout.cert.store', { certificateId: 'MO-242012-2026-000001' }),
  },
  'movein.notice': {
    as: 'rr-01',
    note: 'a simulated resident of Yokkaichi moves in: stored here, 転入通知 to Yokkaichi, identity.notify to the prefecture.',
    body: {
      residentCode: '83244433831',
      name: '松岡\u3000樹',
      birthDate: '2014-06-05',
      oldLgCode: '242021',
      newLgCode: '242012',
      newAddress: '三重県津市西丸之内23番1号',
      moveInDate: '2026-11-20',
      record: {
        residentCode: '83244433831',
        myNumber: '384625669564',
        name: '松岡\u3000樹',
        birthDate: '2014-06-05',
        sex: '1',
        address: '三重県津市西丸之内23番1号',
        lgCode: '242012',
        changeReason: 'add',
        changeDate: '2026-11-20',
        status: 'current',
      },
    },
    reply: result('movein.notice', { accepted: true }),
  },
  'card.continue': {
    as: 'term-01',
    body: { ...EXAMPLE_BODIES['card.continue'].request, residentCode: takahashi.residentCode, myNumber: takahashi.myNumber },
    reply: result('card.continue', { accepted: true }),
  },
  'identity.search': {
    as: 'term-01',
    note: 'a simulated resident of Ise (same prefecture): routed to the prefectural server.',
    body: { dutyCode: 'J01', ...operator, name: 'PARK JIHOON', birthDate: '1991-11-19', address: '三重県伊勢市' },
    reply: result('identity.search', { route: 'pref', hitCount: 1, hits: [{ residentCode: '99585271566' }] }),
  },
  'jlis.inquiry': {
    as: 'term-01',
    body: { by: 'myNumber', myNumber: '825989090363', dutyCode: 'J05', ...operator },
    reply: result('jlis.inquiry', { records: [{ residentCode: '86249105599' }] }),
  },
  'card.delivery': {
    as: 'rr-01',
    body: {
      ...EXAMPLE_BODIES['card.delivery'].request,
      items: [{ ...takahashi, address: '三重県津市広明町1482番地', postcode: '5140006', reason: 'newIssue' }],
    },
    reply: result('card.delivery', { accepted: true, itemCount: 1 }),
  },
  'card.event': {
    as: 'rr-01',
    body: { ...EXAMPLE_BODIES['card.event'].request, residentCode: takahashi.residentCode },
    reply: result('card.event', { accepted: true }),
  },
  'addressee.update': {
    as: 'nl-01',
    body: EXAMPLE_BODIES['addressee.update'].request,
    reply: result('addressee.update', { accepted: true }),
  },
  'serial.request': {
    as: 'nl-01',
    note: 'the 処理通番 comes from the simulated NWS.',
    body: EXAMPLE_BODIES['serial.request'].request,
    reply: { type: 'serial.request.result' },
  },
  'code.request': {
    as: 'nl-01',
    note: "a non-resident's 個人番号: the CS resolves it at the simulated J-LIS first; the code itself goes to the intermediate server.",
    body: { lgCode: '242012', serialNo: 'SN-20261124-0000017c2e', myNumber: '629397137568' },
    reply: result('code.request', { accepted: true }),
  },
  'copy.update': { as: 'nl-01', body: EXAMPLE_BODIES['copy.update'].request, reply: result('copy.update', { accepted: true }) },
  'info.query': {
    as: 'nl-01',
    note: 'asks, through the simulated NWS, the simulated intermediate server that holds the copy stored by the copy.update example.',
    body: { ...EXAMPLE_BODIES['info.query'].request, infoType: 'TAX-01', targetOrg: 'ORG-242012' },
    reply: result('info.query', { found: true, data: { taxYear: 2026 } }),
  },
};

const SENDER_ROLE: Record<MessageTry['as'], string> = { 'rr-01': 'resident-register', 'term-01': 'terminal', 'nl-01': 'number-linkage' };

/** The "Try it" section of one type, or why there is none. */
export function tryItSection(type: MessageType): string[] {
  const t = MESSAGE_TRIES[type];
  if (!t)
    return [`Not sent by local systems (${type} travels between upstream nodes and the appliance); the example above is its body.`, ''];
  const marker = JSON.stringify({ exit: 0, reply: t.reply });
  return [
    `Try it against the embedded default, as \`${t.as}\` (${SENDER_ROLE[t.as]})${t.note ? `: ${t.note}` : '.'}`,
    '',
    `<!-- example: ${marker} -->`,
    '```sh',
    `npx juki-gw send --as ${t.as} ${type} - <<'EOF'`,
    JSON.stringify(t.body, null, 2),
    'EOF',
    '```',
    '',
  ];
}
