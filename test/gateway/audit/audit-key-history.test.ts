// The audit log's key history (handover entries signed by the outgoing key): an intact renewal
// verifies whichever key is pinned; what an attacker with the disk but without the token key can
// do still fails — a changed entry, the chain re-signed with another key, a handover forged by a
// key that is not the outgoing one, a certificate swapped in. Logs written before key history
// existed verify as they did; the unsigned count never goes negative.
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hsmSection } from '../../../config/schema/hsm.js';
import { previousKeyOnToken } from '../../../hsm/previous-key.js';
import {
  createAuditLog,
  entryHash,
  signCheckpoint,
  verifySegmentFile,
  type AuditEntry,
  type AuditLog,
  type CheckpointRecord,
} from '../../../gateway/audit/index.js';
import { auditStore, verifyAuditLog } from '../../../gateway/audit/verify.js';
import { HANDOVER_ACTION } from '../../../gateway/audit/keyHistory.js';
import { nowIso } from '../../../platform/envelope.js';
import { createDevCa, issueForPublicKey } from '../../../hsm/dev-ca.js';
import { createSigner, selfSignedCertificate, signerFromToken, type TokenSigner } from '../../../hsm/index.js';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { jukiGw } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { lookup, testSigner } from './audit-helpers.js';

const ek = (s: number) => `e/${s.toString().padStart(16, '0')}`;
const ck = (s: number) => `c/${s.toString().padStart(16, '0')}`;

let dir: ReturnType<typeof tempDir> | undefined;
let db: Db | undefined;
afterEach(async () => {
  if (db?.status === 'open') await db.close();
  dir?.cleanup();
  dir = undefined;
  db = undefined;
});

async function openDb(): Promise<Db> {
  dir = tempDir('jukigw-keyhist-');
  db = await openApplianceDb(join(dir.path, 'db'));
  return db;
}

/** `n` entries with a checkpoint every 5, through `log`, then closed (the close signs the tail). */
async function write(log: AuditLog, from: number, n: number) {
  for (let i = from; i < from + n; i++) {
    await log.append(lookup(i));
    if (i % 5 === 0) await log.checkpoint();
  }
  await log.close();
}

const renewed = async (s: TokenSigner, subject = 'CN=renewed') => signerFromToken(s.token, await selfSignedCertificate(s.token, subject));
const open = (d: Db, signer: TokenSigner, more: Partial<Parameters<typeof createAuditLog>[0]> = {}) =>
  createAuditLog({ db: d, signer, checkpointEvery: 1_000_000, checkpointSeconds: 3600, ...more });

/** Entries 1..10 under `old`, a renewal of the certificate, entries 12..21 under the new one (11 is the handover). */
async function renewedLog() {
  const d = await openDb();
  const old = await testSigner('CN=first');
  await write(await open(d, old), 1, 10);
  const next = await renewed(old);
  await write(await open(d, next), 12, 10);
  return { d, old, next };
}

const store = () => auditStore(db!);
const get = async (s: number) => (await store().get(ek(s))) as AuditEntry;

describe('key history: an intact renewal', () => {
  it('the reopened log records a handover signed by the outgoing certificate; every pin verifies', async () => {
    const { d, old, next } = await renewedLog();
    const h = await get(11);
    expect(h.event).toMatchObject({ action: HANDOVER_ACTION, outcome: 'ok', detail: { fromKid: old.kid, toKid: next.kid } });
    expect(((await store().get(ck(11))) as CheckpointRecord).kid).toBe(old.kid);
    for (const pin of [{ trustedKids: [next.kid] }, { trustedKids: [old.kid] }, { trustedCerts: [next.certificateDer] }, {}]) {
      const r = await verifyAuditLog(d, pin);
      expect(r, JSON.stringify(pin)).toMatchObject({ ok: true, entries: 21, unsignedTail: 0 });
    }
    expect((await verifyAuditLog(d, { trustedKids: [next.kid] })).keyHistory).toEqual([
      { kid: old.kid, fromSeq: 5, toSeq: 11, trusted: true },
      { kid: next.kid, fromSeq: 15, toSeq: 21, handedOverAt: 11, trusted: true },
    ]);
    // The old certificate stays in the log: the one every earlier checkpoint names.
    expect(Buffer.from(String(await store().get(`cert/${old.kid}`)), 'base64').equals(Buffer.from(old.certificateDer))).toBe(true);
    // Reopening with the same certificate hands nothing over again.
    const again = await open(d, next);
    await again.close();
    expect((await verifyAuditLog(d)).keyHistory).toHaveLength(2);
    expect(await store().get(ek(22))).toBeUndefined();
  });

  it('a CA certificate pins the certificates it issued, and through the handover the earlier ones', async () => {
    const d = await openDb();
    const ca = await createDevCa(join(dir!.path, 'ca'));
    const old = await testSigner('CN=dev');
    await write(await open(d, old), 1, 10);
    const next = signerFromToken(old.token, await issueForPublicKey(ca, old.token.spkiDer, { kind: 'signing', commonName: 'lg:242012' }));
    await write(await open(d, next), 12, 10);
    expect(await verifyAuditLog(d, { trustedCerts: [Buffer.from(ca.cert.rawData)] })).toMatchObject({ ok: true });
    const otherCa = await createDevCa(join(dir!.path, 'other-ca'));
    expect((await verifyAuditLog(d, { trustedCerts: [Buffer.from(otherCa.cert.rawData)] })).firstBad).toMatchObject({
      seq: 5,
      reason: 'bad_checkpoint',
    });
  });

  it('a new key (another key of the token) hands over through the previousKey resolver', async () => {
    const d = await openDb();
    const old = await testSigner('CN=key-1');
    await write(await open(d, old), 1, 10);
    const next = await testSigner('CN=key-2');
    await write(
      await open(d, next, {
        previousKey: async (der) =>
          Buffer.from(der).equals(Buffer.from(old.certificateDer)) ? { signer: old, release: async () => {} } : null,
      }),
      12,
      10,
    );
    expect((await get(11)).event).toMatchObject({ outcome: 'ok', detail: { fromKid: old.kid, toKid: next.kid } });
    expect(await verifyAuditLog(d, { trustedKids: [old.kid] })).toMatchObject({ ok: true });
    expect(await verifyAuditLog(d, { trustedKids: [next.kid] })).toMatchObject({ ok: true });
  });

  it("software keys: the appliance's resolver finds the outgoing key file in the data dir, and nothing else", async () => {
    const d = await openDb();
    const hsm = (keyLabel: string) => hsmSection.parse({ kind: 'software', keyLabel });
    const dataDir = join(dir!.path, 'data');
    const a = await createSigner(hsm('key-a'), { dataDir });
    await write(await open(d, a), 1, 10);
    const b = await createSigner(hsm('key-b'), { dataDir });
    const files = () => readdirSync(join(dataDir, 'hsm')).sort();
    const before = files();
    await write(await open(d, b, { previousKey: previousKeyOnToken(hsm('key-b'), dataDir, b) }), 12, 10);
    expect((await get(11)).event).toMatchObject({ outcome: 'ok', detail: { fromKid: a.kid, toKid: b.kid } });
    expect(await verifyAuditLog(d, { trustedKids: [b.kid] })).toMatchObject({ ok: true });
    expect(files()).toEqual(before);
    // A certificate no key in the data dir fits: no signer, and no key file is made for it.
    expect(await previousKeyOnToken(hsm('key-b'), dataDir, b)((await testSigner('CN=elsewhere')).certificateDer)).toBeNull();
    expect(files()).toEqual(before);
    await a.close();
    await b.close();
  });

  it('an exported segment across the handover verifies pinned to either certificate; prune under the new key works', async () => {
    const { d, old, next } = await renewedLog();
    const { exportSegment, applyRetention } = await import('../../../gateway/audit/segment.js');
    const out = join(dir!.path, 'seg.jsonl');
    expect(await exportSegment(d, { before: new Date(Date.now() + 60_000), out })).toMatchObject({ fromSeq: 1, toSeq: 21 });
    for (const pin of [[old.certificateDer], [next.certificateDer]])
      expect(await verifySegmentFile(out, { trustedCerts: pin })).toMatchObject({ ok: true });
    expect((await verifySegmentFile(out, { trustedCerts: [(await testSigner('CN=x')).certificateDer] })).problem?.message).toMatch(
      /checkpoint 5: signed by an untrusted key/,
    );
    const r = await applyRetention(d, next, { retentionYears: 1, now: new Date(Date.now() + 2 * 366 * 86400_000), requireExported: true });
    expect(r).toMatchObject({ prunedThrough: 21 });
    expect(await verifyAuditLog(d, { trustedKids: [next.kid] })).toMatchObject({ ok: true });
  });
});

describe('key history: tampering still fails', () => {
  it('an entry changed after the handover', async () => {
    const { d, next } = await renewedLog();
    const e = await get(13);
    await store().put(ek(13), { ...e, event: { ...e.event, hitCount: 77 } });
    expect((await verifyAuditLog(d, { trustedKids: [next.kid] })).firstBad).toMatchObject({ seq: 13, reason: 'changed' });
  });

  it('the handover entry changed to name another incoming key', async () => {
    const { d, next } = await renewedLog();
    const h = await get(11);
    const x = await testSigner('CN=attacker');
    await store().put(ek(11), { ...h, event: { ...h.event, detail: { ...h.event.detail, toKid: x.kid } } });
    // The altered entry no longer matches the outgoing key's checkpoint: no handover links the keys, so
    // the earlier key is not vouched for either.
    const r = await verifyAuditLog(d, { trustedKids: [next.kid] });
    expect(r.ok).toBe(false);
    expect(r.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ seq: 11, reason: 'changed' }),
        expect.objectContaining({ seq: 5, reason: 'bad_checkpoint' }),
      ]),
    );
  });

  it('the chain re-signed from entry 14 on with a key that was never handed over', async () => {
    const { d, old, next } = await renewedLog();
    const x = await testSigner('CN=attacker');
    let prev = (await get(13)).hash;
    for (let s = 14; s <= 21; s++) {
      const e = await get(s);
      const event = s === 14 ? { ...e.event, hitCount: 0 } : e.event;
      const hash = entryHash(prev, s, event);
      await store().put(ek(s), { seq: s, prev, hash, event });
      if (await store().get(ck(s))) await store().put(ck(s), await signCheckpoint(x, 'audit.checkpoint', s, hash));
      prev = hash;
    }
    await store().put(`cert/${x.kid}`, Buffer.from(x.certificateDer).toString('base64'));
    await store().put('head', { seq: 21, hash: prev });
    const pinnedOld = await verifyAuditLog(d, { trustedKids: [old.kid] });
    expect(pinnedOld.firstBad).toMatchObject({ seq: 15, reason: 'bad_checkpoint' });
    expect(pinnedOld.firstBad!.message).toMatch(new RegExp(`untrusted key ${x.kid}`));
    // Pinned to the incoming key, which never signed: nothing in the log is vouched for.
    const pinnedNext = await verifyAuditLog(d, { trustedKids: [next.kid] });
    expect(pinnedNext.issues.map((i) => [i.seq, i.reason])).toEqual([
      [5, 'bad_checkpoint'],
      [15, 'bad_checkpoint'],
    ]);
    expect(pinnedNext.issues[1]!.message).toMatch(new RegExp(`untrusted key ${x.kid}`));
    // Not pinned, the attacker's key shows as a change without handover.
    const plain = await verifyAuditLog(d);
    expect(plain.keyHistory.at(-1)).toMatchObject({ kid: x.kid, fromSeq: 15 });
    expect(plain.keyHistory.at(-1)!.handedOverAt).toBeUndefined();
  });

  it('a handover appended by a key that is not the outgoing one, then checkpoints under it', async () => {
    const { d, next } = await renewedLog();
    const x = await testSigner('CN=attacker');
    let head = { seq: 21, hash: (await get(21)).hash };
    const add = async (event: AuditEntry['event']) => {
      const seq = head.seq + 1;
      const hash = entryHash(head.hash, seq, event);
      await store().put(ek(seq), { seq, prev: head.hash, hash, event });
      head = { seq, hash };
    };
    await add({
      at: nowIso(),
      actor: { kind: 'appliance', id: 'audit' },
      action: HANDOVER_ACTION,
      outcome: 'ok',
      keys: [],
      detail: { fromKid: next.kid, toKid: x.kid },
    });
    await store().put(ck(22), await signCheckpoint(x, 'audit.checkpoint', 22, head.hash));
    for (let i = 0; i < 3; i++)
      await add({ at: nowIso(), actor: { kind: 'operator', id: 'op-x' }, action: 'identity.search', outcome: 'ok', keys: [] });
    await store().put(ck(25), await signCheckpoint(x, 'audit.checkpoint', 25, head.hash));
    await store().put(`cert/${x.kid}`, Buffer.from(x.certificateDer).toString('base64'));
    await store().put('head', head);
    const r = await verifyAuditLog(d, { trustedKids: [next.kid] });
    expect(r.firstBad).toMatchObject({ seq: 22, reason: 'bad_checkpoint' });
    expect(r.firstBad!.message).toMatch(/untrusted key/);

    // The same handover checkpoint claiming the outgoing kid, but signed by the attacker: the signature fails.
    const forged = await signCheckpoint(x, 'audit.checkpoint', 22, (await get(22)).hash);
    await store().put(ck(22), { ...forged, kid: next.kid });
    expect((await verifyAuditLog(d, { trustedKids: [next.kid] })).firstBad).toMatchObject({ seq: 22, reason: 'bad_checkpoint' });
  });

  it('a certificate swapped in under a kid of the history', async () => {
    const { d, old, next } = await renewedLog();
    const x = await testSigner('CN=attacker');
    await store().put(`cert/${old.kid}`, Buffer.from(x.certificateDer).toString('base64'));
    const r = await verifyAuditLog(d, { trustedKids: [next.kid] });
    expect(r.firstBad).toMatchObject({ seq: 5, reason: 'bad_checkpoint' });
    expect(r.firstBad!.message).toMatch(/stored certificate does not match kid/);
  });
});

describe('key history: the outgoing key is gone', () => {
  it('the change is recorded as an error entry; older checkpoints need their own certificate pinned', async () => {
    const d = await openDb();
    const old = await testSigner('CN=lost');
    await write(await open(d, old), 1, 10);
    const next = await testSigner('CN=replacement');
    await (await open(d, next)).close();
    expect((await get(11)).event).toMatchObject({
      action: HANDOVER_ACTION,
      outcome: 'error',
      code: 'outgoing_key_unavailable',
      detail: { fromKid: old.kid, toKid: next.kid },
    });
    // The incoming key signs at once: a restart before any new entry records the change only once.
    expect(((await store().get(ck(11))) as CheckpointRecord).kid).toBe(next.kid);
    await write(await open(d, next), 12, 10);
    expect((await get(12)).event.action).toBe('identity.search');
    expect((await verifyAuditLog(d, { trustedKids: [next.kid] })).firstBad).toMatchObject({ seq: 5, reason: 'bad_checkpoint' });
    expect(await verifyAuditLog(d, { trustedKids: [next.kid, old.kid] })).toMatchObject({ ok: true });
    expect(await verifyAuditLog(d)).toMatchObject({ ok: true });
  });
});

describe('key history: the outgoing key is gone, both certificates from one CA', () => {
  it('the running appliance does not accept the earlier key by its CA on its own; an explicit CA pin does', async () => {
    const d = await openDb();
    const ca = await createDevCa(join(dir!.path, 'ca'));
    const caDer = Buffer.from(ca.cert.rawData);
    const issue = async (cn: string) => {
      const t = (await testSigner(`CN=${cn}`)).token;
      return signerFromToken(t, await issueForPublicKey(ca, t.spkiDer, { kind: 'signing', commonName: cn }), [caDer]);
    };
    const old = await issue('lost');
    await write(await open(d, old), 1, 10);
    const next = await issue('replacement');
    const log = await open(d, next);
    expect((await get(11)).event).toMatchObject({ outcome: 'error', code: 'outgoing_key_unavailable' });
    // The CA may have issued certificates to other systems: only its explicit pin accepts them.
    expect((await log.verify()).firstBad).toMatchObject({ seq: 5, reason: 'bad_checkpoint' });
    expect(await verifyAuditLog(d, { trustedCerts: [caDer] })).toMatchObject({ ok: true });
    await log.close();
  });
});

/** A log as the code before key history wrote it: checkpoints by `a`, then by `b`, no handover entry. */
async function legacyLog(d: Db, a: TokenSigner, b: TokenSigner) {
  const s = auditStore(d);
  let prev = '0'.repeat(64);
  for (let seq = 1; seq <= 20; seq++) {
    const event = {
      at: nowIso(),
      actor: { kind: 'operator', id: 'op-1' },
      action: 'identity.search',
      outcome: 'ok',
      keys: [],
      detail: { messageId: `m-${seq}` },
    };
    const hash = entryHash(prev, seq, event);
    await s.put(ek(seq), { seq, prev, hash, event });
    await s.put('head', { seq, hash });
    if (seq % 5 === 0) await s.put(ck(seq), await signCheckpoint(seq <= 10 ? a : b, 'audit.checkpoint', seq, hash));
    prev = hash;
  }
  for (const x of [a, b]) await s.put(`cert/${x.kid}`, Buffer.from(x.certificateDer).toString('base64'));
}

describe('logs written before key history', () => {
  it('verify as before: a single key, and a certificate change without handover (plain, both pinned, one pinned)', async () => {
    const d = await openDb();
    const a = await testSigner('CN=a');
    const b = await renewed(a, 'CN=b');
    await legacyLog(d, a, b);
    expect(await verifyAuditLog(d)).toMatchObject({ ok: true, entries: 20, checkpoints: 4, unsignedTail: 0 });
    expect(await verifyAuditLog(d, { trustedKids: [a.kid, b.kid] })).toMatchObject({ ok: true });
    const onlyB = await verifyAuditLog(d, { trustedKids: [b.kid] });
    expect(onlyB.firstBad).toMatchObject({ seq: 5, reason: 'bad_checkpoint' });
    expect(onlyB.firstBad!.message).toMatch(/checkpoint 5: signed by an untrusted key/);
    // Opened by the appliance with the same certificate as its last checkpoint: nothing is handed over…
    const same = await open(d, b);
    await same.close();
    expect(await store().get(ek(21))).toBeUndefined();
    // …and a later renewal hands over from the last key, which makes b and c one run.
    const c = await renewed(b, 'CN=c');
    await write(await open(d, c), 22, 4);
    expect((await get(21)).event.detail).toMatchObject({ fromKid: b.kid, toKid: c.kid });
    expect(await verifyAuditLog(d, { trustedKids: [c.kid, a.kid] })).toMatchObject({ ok: true });
    expect((await verifyAuditLog(d, { trustedKids: [c.kid] })).firstBad).toMatchObject({ seq: 5, reason: 'bad_checkpoint' });
  });
});

describe('the verify summary', () => {
  it('never prints a negative unsigned count when the walk stops early', async () => {
    const d = await openDb();
    const s = await testSigner();
    await write(await open(d, s), 1, 40);
    const e = await get(3);
    await store().put(ek(3), { ...e, event: { ...e.event, hitCount: 99 } });
    const r = await verifyAuditLog(d);
    expect(r.firstBad).toMatchObject({ seq: 3, reason: 'changed' });
    expect(r.lastCheckpointSeq).toBe(40);
    expect(r.unsignedTail).toBe(3);
    await d.close();
    const cli = await jukiGw(['audit', 'verify', '--data-dir', dir!.path]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/first bad entry 3: changed/);
    expect(cli.stdout).toMatch(/, 3 unsigned/);
    expect(cli.stdout).not.toMatch(/-\d+ unsigned/);
  });
});
