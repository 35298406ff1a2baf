// One installation serving two wards of a designated city (横浜市鶴見区 141011, 神奈川区 141020):
// per-ward notifications, routing that treats the city as served only when all its wards are, and a
// move between the two wards handled entirely inside the installation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDateInJapan } from '../../../domain/dates.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
import { startCsStack, SYSTEMS, until, type CsStack, type LocalClient } from '../../helpers/cs-harness.js';

const TSURUMI = '141011';
const KANAGAWA = '141020';
const KANAGAWA_PREF = 'pref:140007';
const operator = { operatorId: 'op-0101', terminalId: 'tm-0101' };
const today = isoDateInJapan(Date.now());
const inDays = (n: number) => isoDateInJapan(Date.now() + n * 86400_000);

let s: CsStack;
let rr: LocalClient;
let term: LocalClient;
const of = (lg: string, i = 0) => s.residents.filter((r) => r.lgCode === lg)[i]!;
const notifies = () => s.sims.node(KANAGAWA_PREF).received.filter((e) => e.type === 'identity.notify');

beforeAll(async () => {
  s = await startCsStack({ served: [TSURUMI, KANAGAWA], population: 'yokohama', residents: 1500 });
  rr = await s.client(SYSTEMS.register);
  term = await s.client(SYSTEMS.terminal);
}, 120_000);
afterAll(async () => {
  await s?.close();
});

describe("a designated city's wards in one installation", () => {
  it("checks each ward's consistency separately", async () => {
    for (const lg of [TSURUMI, KANAGAWA]) {
      const run = await s.role.consistency.run({ lgCode: lg, peer: KANAGAWA_PREF });
      const diffs = await s.role.consistency.differences(run.id);
      // The last generated resident is held by the CS only (harness); it belongs to one of the wards.
      const csOnly = s.residents[s.residents.length - 1]!;
      expect(diffs).toEqual(csOnly.lgCode === lg ? [{ residentCode: csOnly.residentCode, kind: 'cs_only' }] : []);
    }
  });

  it('notifies the prefecture from the ward the record belongs to', async () => {
    const r = of(KANAGAWA);
    const rep = await rr.request('identity.update', {
      record: { ...r, address: `${r.address}の1`, changeReason: 'correct', changeDate: today, status: 'current' },
    });
    expect(rep.type).toBe('identity.update.result');
    const n = await until(() => notifies().find((e) => (e.body.record as IdentityChange).residentCode === r.residentCode));
    expect(n.from).toBe(`lg:${KANAGAWA}`);
  });

  it('routes a search for the city (not all wards served) to the prefecture, for a served ward locally', async () => {
    const r = of(TSURUMI, 1);
    const local = await term.request('identity.search', {
      dutyCode: 'JUKI-01',
      ...operator,
      name: r.name,
      birthDate: r.birthDate,
      lgCode: TSURUMI,
    });
    expect(local.body).toMatchObject({ route: 'local', hitCount: 1 });
    const city = await term.request('identity.search', {
      dutyCode: 'JUKI-01',
      ...operator,
      name: r.name,
      birthDate: r.birthDate,
      lgCode: '141003',
    });
    expect(city.body.route).toBe('pref');
  });

  it('moves a resident between two served wards without leaving the installation', async () => {
    const r = of(TSURUMI, 2);
    const certificate = {
      certificateId: 'MO-141011-1',
      residentCode: r.residentCode,
      name: r.name,
      birthDate: r.birthDate,
      sex: r.sex,
      oldAddress: r.address,
      oldLgCode: TSURUMI,
      plannedMoveDate: inDays(3),
      issuedOn: today,
    };
    expect((await rr.request('moveout.cert.store', { certificate })).type).toBe('moveout.cert.store.result');
    const cert = await term.request('moveout.cert.request', {
      residentCode: r.residentCode,
      name: r.name,
      birthDate: r.birthDate,
      oldLgCode: TSURUMI,
      ...operator,
    });
    expect(cert).toMatchObject({ type: 'moveout.cert.request.result', body: { certificate: { certificateId: 'MO-141011-1' } } });
    const pushedCert = await rr.waitPush((e) => e.type === 'moveout.cert' && e.body.requestId === cert.corr);
    expect(pushedCert.from).toBe(`lg:${TSURUMI}`);
    const newAddress = '神奈川県横浜市神奈川区反町1丁目1番';
    const record = { ...r, lgCode: KANAGAWA, address: newAddress, changeReason: 'correct', changeDate: today, status: 'current' };
    const notice = await rr.request('movein.notice', {
      residentCode: r.residentCode,
      name: r.name,
      birthDate: r.birthDate,
      oldLgCode: TSURUMI,
      newLgCode: KANAGAWA,
      newAddress,
      moveInDate: today,
      certificateId: 'MO-141011-1',
      record,
    });
    expect(notice).toMatchObject({ type: 'movein.notice.result', body: { accepted: true } });
    const pushedNotice = await rr.waitPush((e) => e.type === 'movein.notice' && e.body.residentCode === r.residentCode);
    expect(pushedNotice.from).toBe(`lg:${TSURUMI}`);
    expect(pushedNotice.body.record).toBeUndefined();
    expect((await s.role.store.get(r.residentCode))?.lgCode).toBe(KANAGAWA);
    expect(await s.role.moveouts.get(TSURUMI, 'MO-141011-1')).toBeUndefined();
    const n = await until(() => notifies().find((e) => (e.body.record as IdentityChange).residentCode === r.residentCode));
    expect(n.from).toBe(`lg:${KANAGAWA}`);
    for (const node of s.sims.nodes.values()) expect(node.received.some((e) => e.type === 'movein.notice')).toBe(false);
  });
});
