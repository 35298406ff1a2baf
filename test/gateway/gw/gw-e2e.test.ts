// GW end to end through the simulators: code requests (2-⑤…⑨), the whitelist's refusals, the relays
// (1-③, 2-①…④, 3-③, 4-②…⑤) and 情報提供等記録; then the 処理通番 and 符号 scan over the whole data
// dir (LevelDB files included, DB closed) and the appliance's log.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';
import type { Envelope } from '../../../platform/envelope.js';
import {
  filesContaining,
  NL,
  OTHER,
  SERVED,
  startGwStack,
  TERMINAL,
  until,
  type GwStack,
  type SegmentClient,
} from '../../helpers/gw-harness.js';

const serial = () => `GWS-${randomBytes(10).toString('hex')}`;

describe('GW role end to end', () => {
  let s: GwStack;
  let nl: SegmentClient;
  const serials: string[] = [];
  const codes: string[] = [];
  const received = (node: string, type: string, pred: (e: Envelope) => boolean = () => true) =>
    s.sims.node(node).received.filter((e) => e.type === type && pred(e));
  const bySerial = (sn: string) => (e: Envelope) => e.body.serialNo === sn;

  const events = async () => (await s.auditEntries()).map((e) => e.event);

  beforeAll(async () => {
    s = await startGwStack();
    nl = await s.client(NL);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  }, 60_000);

  it('code request for a resident: accepted; the code reaches the intermediate server only', async () => {
    const sn = serial();
    serials.push(sn);
    const r = await nl.request('code.request', { lgCode: SERVED, serialNo: sn, myNumber: s.residents[0]!.myNumber });
    expect(r.type).toBe('code.request.result');
    expect(r.body).toEqual({ accepted: true });
    const delivered = await until(() => received(`ims:${SERVED}`, 'code.deliver', bySerial(sn))[0]);
    codes.push(String(delivered.body.code));
    expect(received('national', 'code.request', bySerial(sn))).toHaveLength(1);
    expect(received('national', 'jlis.inquiry')).toHaveLength(0); // resolved from the CS store
    // Upstream the person is named by 住民票コード; the 個人番号 stays between the segment and the CS.
    expect(received('national', 'code.request', bySerial(sn))[0]!.body).toEqual({
      lgCode: SERVED,
      serialNo: sn,
      residentCode: s.residents[0]!.residentCode,
    });
    const audit = (await events()).find((e) => e.action === 'code.request' && e.outcome === 'ok');
    expect(audit?.keys).toContain(s.hashKey('serial', sn));
    expect(audit?.keys).toContain(s.hashKey('mn', s.residents[0]!.myNumber));
  });

  it('code request for a non-resident: the CS asks J-LIS first, then sends the request', async () => {
    const sn = serial();
    serials.push(sn);
    const r = await nl.request('code.request', { lgCode: SERVED, serialNo: sn, myNumber: s.nonResident.myNumber });
    expect(r.body).toEqual({ accepted: true });
    expect(received('national', 'jlis.inquiry', (e) => e.body.myNumber === s.nonResident.myNumber)).toHaveLength(1);
    expect(received('national', 'code.request', bySerial(sn))[0]!.body.residentCode).toBe(s.nonResident.residentCode);
    codes.push(String((await until(() => received(`ims:${SERVED}`, 'code.deliver', bySerial(sn))[0])).body.code));
  });

  it('code request for an unknown person: not_found, audited, nothing forwarded', async () => {
    const sn = serial();
    serials.push(sn);
    const r = await nl.request('code.request', { lgCode: SERVED, serialNo: sn, myNumber: s.unknownMyNumber });
    expect(r.type).toBe('error');
    expect(r.body).toMatchObject({
      code: 'not_found',
      details: [{ path: 'body.myNumber', problem: 'person.unknown: not found locally nor at J-LIS' }],
    });
    expect(received('national', 'code.request', bySerial(sn))).toHaveLength(0);
    expect(received('nws', 'code.request', bySerial(sn))).toHaveLength(0);
    const audit = (await events()).filter((e) => e.action === 'code.request' && e.code === 'not_found');
    expect(audit.length).toBe(1);
  });

  it('a reused 処理通番 is refused with conflict and not forwarded', async () => {
    const sn = serials[0]!;
    const before = received('national', 'code.request').length;
    const r = await nl.request('code.request', { lgCode: SERVED, serialNo: sn, myNumber: s.residents[1]!.myNumber });
    expect(r.body).toMatchObject({
      code: 'conflict',
      details: [{ path: 'body.serialNo', problem: 'serialNo.reused: this 処理通番 was used before' }],
    });
    expect(received('national', 'code.request')).toHaveLength(before);
    const audit = (await events()).find((e) => e.action === 'code.request' && e.code === 'conflict');
    expect(audit?.keys).toContain(s.hashKey('serial', sn));
  });

  // Refusals the GW itself answers carry "gw:" in their audit detail; the intake's carry its own message.
  const refusedAudit = async (action: string, code: string) =>
    (await events()).filter((e) => e.action === action && e.outcome === 'refused' && e.code === code);

  it('bad input: smuggled personal field — invalid_request, audited, nothing forwarded, the 処理通番 not consumed', async () => {
    const before = received('national', 'code.request').length;
    const sm = serial();
    serials.push(sm);
    const auditBefore = (await refusedAudit('code.request', 'invalid_request')).length;
    const smuggled = await nl.request('code.request', {
      lgCode: SERVED,
      serialNo: sm,
      myNumber: s.residents[2]!.myNumber,
      residentCode: s.residents[2]!.residentCode,
    });
    expect(smuggled.type).toBe('error');
    expect(smuggled.body).toMatchObject({
      code: 'invalid_request',
      details: [{ path: 'body.residentCode', problem: 'field.smuggled: "residentCode" is personal data not allowed in code.request' }],
    });
    expect(JSON.stringify(smuggled.body)).not.toContain(s.residents[2]!.residentCode);
    const audited = await refusedAudit('code.request', 'invalid_request');
    expect(audited).toHaveLength(auditBefore + 1);
    expect(String(audited.at(-1)!.detail?.message ?? '')).toMatch(/^gw: /);
    expect(received('national', 'code.request')).toHaveLength(before);
    expect(received('national', 'jlis.inquiry', (e) => e.body.myNumber === s.residents[2]!.myNumber)).toHaveLength(0);
    // Smuggled beside the body, at the envelope's top level: the strict envelope schema refuses it.
    const top = await nl.request(
      'code.request',
      { lgCode: SERVED, serialNo: sm, myNumber: s.residents[2]!.myNumber },
      { residentCode: s.residents[2]!.residentCode },
    );
    expect(top.body).toMatchObject({ code: 'invalid_request' });
    expect(JSON.stringify(top.body)).not.toContain(s.residents[2]!.residentCode);
    expect(await refusedAudit('code.request', 'invalid_request')).toHaveLength(auditBefore + 2);
    expect(received('national', 'code.request')).toHaveLength(before);
    // Nothing of the refused request was kept: the same 処理通番, sent cleanly, is accepted (not `conflict`).
    const clean = await nl.request('code.request', { lgCode: SERVED, serialNo: sm, myNumber: s.residents[2]!.myNumber });
    expect(clean.body).toEqual({ accepted: true });
    codes.push(String((await until(() => received(`ims:${SERVED}`, 'code.deliver', bySerial(sm))[0])).body.code));
    expect(received('national', 'code.request', bySerial(sm))).toHaveLength(1);
  });

  it('bad input: a type the segment may not use — forbidden by the GW even though the role table allows it, audited, never handled', async () => {
    const type = await nl.request('identity.search', {
      name: '山田太郎',
      birthDate: '1980-01-01',
      dutyCode: 'X1',
      operatorId: 'op1',
      terminalId: 't1',
    });
    expect(type.body).toMatchObject({
      code: 'forbidden',
      details: [{ path: 'type', problem: expect.stringMatching(/^type\.notWhitelisted: /) }],
    });
    const audited = await refusedAudit('identity.search', 'forbidden');
    expect(audited).toHaveLength(1);
    expect(String(audited[0]!.detail?.message ?? '')).toMatch(/^gw: /);
    // The CS never ran the search (no answer audited) and nothing went to the prefecture or J-LIS.
    expect((await events()).filter((e) => e.action === 'identity.search' && e.outcome !== 'refused')).toHaveLength(0);
    expect(received('national', 'identity.search')).toHaveLength(0);
    // A type outside the contract: malformed whoever sends it (the broker admits req/{type} so it can be answered).
    const unknown = await nl.request('number.export', { lgCode: SERVED });
    expect(unknown.body).toMatchObject({
      code: 'invalid_request',
      details: [{ path: 'type', problem: expect.stringMatching(/^type\.unknown: /) }],
    });
    expect(await refusedAudit('number.export', 'invalid_request')).toHaveLength(1);
  });

  it('bad input: a forged `from` — unauthorized, audited, nothing forwarded', async () => {
    const before = { code: received('national', 'code.request').length, serial: received(`ims:${SERVED}`, 'serial.request').length };
    const forgedSerial = await nl.request('serial.request', { lgCode: SERVED, addresseeNo: 'F-0001' }, { from: TERMINAL });
    expect(forgedSerial.body).toMatchObject({
      code: 'unauthorized',
      details: [{ path: 'from', problem: 'must be the authenticated system id or omitted' }],
    });
    const fs = serial();
    serials.push(fs);
    const forgedCode = await nl.request(
      'code.request',
      { lgCode: SERVED, serialNo: fs, myNumber: s.residents[5]!.myNumber },
      { from: `lg:${SERVED}` },
    );
    expect(forgedCode.body).toMatchObject({ code: 'unauthorized', details: [{ path: 'from' }] });
    expect(await refusedAudit('serial.request', 'unauthorized')).toHaveLength(1);
    expect(await refusedAudit('code.request', 'unauthorized')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300)); // anything wrongly sent would have reached the simulators by now
    expect(received('national', 'code.request')).toHaveLength(before.code);
    expect(received(`ims:${SERVED}`, 'serial.request')).toHaveLength(before.serial);
    expect(received('national', 'code.request', bySerial(fs))).toHaveLength(0);
  });

  it('unknown harmless fields: stripped before the CS, reported (audit, log, metrics) by name only', async () => {
    const st = serial();
    serials.push(st);
    const stripped = await nl.request('code.request', {
      lgCode: SERVED,
      serialNo: st,
      myNumber: s.residents[3]!.myNumber,
      clientVersion: 'nl-2.1-unique-value',
    });
    expect(stripped.body).toEqual({ accepted: true });
    codes.push(String((await until(() => received(`ims:${SERVED}`, 'code.deliver', bySerial(st))[0])).body.code));
    const sent = received('national', 'code.request', bySerial(st))[0]!;
    expect(sent.body).toEqual({ lgCode: SERVED, serialNo: st, residentCode: s.residents[3]!.residentCode });
    const entries = await events();
    const report = entries.filter((e) => e.code === 'fields_stripped');
    expect(report).toHaveLength(1);
    expect(report[0]!.action).toBe('gw.screen');
    expect(String(report[0]!.detail?.message ?? '')).toMatch(
      /^code\.request \S+: clientVersion stripped \(names only\); passed on to the request checks/,
    );
    expect(JSON.stringify(entries)).not.toContain('nl-2.1-unique-value');
    await s.flushLog();
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).toMatch(/"stripped":\["clientVersion"\].*unknown fields stripped/);
    expect(log).not.toContain('nl-2.1-unique-value');
    expect(s.gw.screenStats()).toMatchObject({ stripped: 1 });
    const metrics = await s.registry.metrics();
    expect(metrics).toMatch(/jukigw_gw_screened_total\{outcome="refused",type="code.request"\} 1/);
    expect(metrics).toMatch(/jukigw_gw_screened_total\{outcome="refused",type="other"\} 2/);
    expect(metrics).toMatch(/jukigw_gw_screened_total\{outcome="stripped",type="code.request"\} 1/);
  });

  it('a terminal on the local segment cannot use the GW relays (the broker refuses the publish)', async () => {
    const term = await s.client(TERMINAL);
    // The terminal role may not publish req/serial.request: the broker refuses the publish (audited).
    const published = term.client
      .publishAsync(
        'req/serial.request',
        JSON.stringify({ v: 1, id: 'x-1', type: 'serial.request', body: { lgCode: SERVED, addresseeNo: 'A' } }),
        { qos: 1 },
      )
      .catch(() => undefined);
    await Promise.race([published, new Promise((r) => setTimeout(r, 1000))]);
    expect(received(`ims:${SERVED}`, 'serial.request', (e) => e.body.addresseeNo === 'A')).toHaveLength(0);
  });

  it('relays: addressee update, serial request, 副本 update and information queries end to end', async () => {
    const ad = await nl.request('addressee.update', {
      lgCode: SERVED,
      addresseeNo: 'A-0001',
      operation: 'add',
      myNumber: s.residents[4]!.myNumber,
    });
    expect(ad.body).toEqual({ accepted: true });
    await until(() => received(`ims:${SERVED}`, 'addressee.update', (e) => e.body.addresseeNo === 'A-0001')[0]);

    const sr = await nl.request('serial.request', { lgCode: SERVED, addresseeNo: 'A-0001' });
    expect(sr.type).toBe('serial.request.result');
    expect(String(sr.body.serialNo)).toMatch(/^SN-/);
    expect(received('nws', 'serial.request').length).toBeGreaterThan(0);
    // 2-④ → 2-⑤: the issued 処理通番 is used for a code request (and must vanish like the others).
    const issued = String(sr.body.serialNo);
    serials.push(issued);
    const cr = await nl.request('code.request', { lgCode: SERVED, serialNo: issued, myNumber: s.residents[4]!.myNumber });
    expect(cr.body).toEqual({ accepted: true });
    codes.push(String((await until(() => received(`ims:${SERVED}`, 'code.deliver', bySerial(issued))[0])).body.code));

    const cp = await nl.request('copy.update', {
      lgCode: SERVED,
      addresseeNo: 'A-0001',
      infoType: 'TAX-01',
      operation: 'add',
      data: { income: 3_200_000 },
    });
    expect(cp.body).toEqual({ accepted: true });
    await until(() => received(`ims:${SERVED}`, 'copy.update', (e) => e.body.addresseeNo === 'A-0001')[0]);

    // Answered by the body holding the copy (through the NWS), and by another body that holds nothing.
    const found = await nl.request('info.query', {
      lgCode: SERVED,
      addresseeNo: 'A-0001',
      infoType: 'TAX-01',
      targetOrg: `ORG-${SERVED}`,
      procedure: 'P-100',
    });
    expect(found.body).toEqual({ found: true, data: { income: 3_200_000 } });
    const none = await nl.request('info.query', {
      lgCode: SERVED,
      addresseeNo: 'A-0001',
      infoType: 'TAX-01',
      targetOrg: `ORG-${OTHER}`,
      procedure: 'P-100',
    });
    expect(none.body).toEqual({ found: false });
    expect(received(`ims:${OTHER}`, 'info.query').length).toBe(1);

    await until(async () => (await s.gw.listProvision()).length === 4);
    const recs = await s.gw.listProvision();
    expect(recs.map((r) => `${r.kind}:${r.result}:${r.targetOrg}`).sort()).toEqual([
      `answer:found:ORG-${SERVED}`,
      `answer:notFound:ORG-${OTHER}`,
      `query:sent:ORG-${OTHER}`,
      `query:sent:ORG-${SERVED}`,
    ]);
    // Who, what type, when, which body, result.
    for (const r of recs) {
      expect(r).toMatchObject({
        systemId: NL,
        type: 'info.query',
        infoType: 'TAX-01',
        procedure: 'P-100',
        lgCode: SERVED,
        addresseeKey: s.hashKey('addressee', `${SERVED}:A-0001`),
      });
      expect(Date.now() - Date.parse(r.at)).toBeLessThan(60_000);
    }
    // No payload: neither the addressee number nor the answer data.
    expect(JSON.stringify(recs)).not.toContain('A-0001');
    expect(JSON.stringify(recs)).not.toContain('3200000');
    const out = join(s.dir, 'provision.jsonl');
    expect(await s.gw.exportProvision(out)).toBe(4);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it('information queries: a refusal by the other body and a timeout both reach the caller and the provision records', async () => {
    const q = { lgCode: SERVED, addresseeNo: 'A-0002', infoType: 'TAX-01', targetOrg: `ORG-${OTHER}`, procedure: 'P-100' };
    s.sims.node(`ims:${OTHER}`).rejectWhen = () => ({ code: 'internal', message: 'other body refused' });
    const refused = await nl.request('info.query', q);
    expect(refused.body).toMatchObject({ code: 'internal' });
    // The other body goes silent: the configured 1.5 s timeout for info.query answers the caller.
    await s.sims.node(`ims:${OTHER}`).close();
    const timedOut = await nl.request('info.query', q);
    expect(timedOut.body).toMatchObject({ code: 'timeout' });
    await until(
      async () =>
        (await s.gw.listProvision()).filter((p) => p.kind === 'answer' && (p.result === 'internal' || p.result === 'timeout')).length === 2,
    );
  });

  it('no 処理通番 or 符号 anywhere in the data dir or the log once acknowledged; only hashes in the audit log', async () => {
    expect(serials.length).toBeGreaterThanOrEqual(5);
    expect(codes.length).toBe(5);
    await s.cs.idle();
    await s.gw.idle();
    await s.gw.purgeNow();
    // Logical scan: no live key or value of any sublevel holds them.
    const hits: string[] = [];
    for await (const [k, v] of s.db.iterator({ keyEncoding: 'utf8', valueEncoding: 'view' })) {
      const text = k + Buffer.from(v).toString('latin1');
      for (const n of [...serials, ...codes]) if (text.includes(n)) hits.push(k);
    }
    expect(hits).toEqual([]);
    await s.stopAppliance(); // DB closed, log flushed
    // Control: the raw scan sees stored data (the provision records' info type, the log's messages).
    expect(filesContaining(s.dataDir, 'ORG-131016').length).toBeGreaterThan(0);
    expect(readFileSync(s.logFile, 'utf8')).toContain('code.request');
    for (const n of [...serials, ...codes]) {
      const found = filesContaining(s.dataDir, n);
      expect(found, n).toEqual([]);
      expect(readFileSync(s.logFile, 'utf8').includes(n), `log: ${n}`).toBe(false);
    }
    // The audit log keeps the serial's keyed hash (checked above); reopen read-only to be sure it is on disk.
    const db = new ClassicLevel<string, string>(join(s.dataDir, 'db'), { valueEncoding: 'utf8' });
    await db.open();
    let hashed = 0;
    for await (const v of db.values()) if (v.includes(s.hashKey('serial', serials[0]!))) hashed++;
    await db.close();
    expect(hashed).toBeGreaterThan(0);
  });
});
