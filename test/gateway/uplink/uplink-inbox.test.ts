// Inbox on a real LevelDB with a real verifier: verification refusals are audited, ids are deduplicated
// within the window and forgotten after it (the replay window then refuses the old message), misrouted
// and unhandled messages are refused, and a failing flow leaves the id unseen for the sender's retry.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso, uuidv7, type Envelope } from '../../../platform/envelope.js';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { Correlator } from '../../../gateway/uplink/correlator.js';
import { Inbox, type InboxAuditEvent } from '../../../gateway/uplink/inbox.js';
import { Outbox } from '../../../gateway/uplink/outbox.js';
import {
  createVerifier,
  selfSignedCertificate,
  signerFromToken,
  softwareTokenFromKey,
  toPem,
  type TokenSigner,
} from '../../../hsm/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { quietLogger, SELF } from '../../helpers/uplink.js';

const dir = tempDir('inbox-');
let db: Db;
let outbox: Outbox;
let inbox: Inbox;
let peer: TokenSigner;
let clock = Date.now();
const audits: InboxAuditEvent[] = [];
const WINDOW_MS = 600_000;

beforeAll(async () => {
  const token = softwareTokenFromKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256');
  const cert = await selfSignedCertificate(token, 'CN=pref:240001');
  peer = signerFromToken(token, cert);
  db = await openApplianceDb(dir.path);
  outbox = new Outbox({
    db,
    route: () => 'juki',
    retry: { initialMs: 10, maxMs: 10, maxAttempts: 3 },
    backoff: () => 10,
    now: () => clock,
  });
  await outbox.open({ live: false });
  const verifier = createVerifier({ trustAnchorsPem: toPem(cert), peerCertificatesPem: toPem(cert), replayWindowSeconds: 300 });
  inbox = new Inbox({
    db,
    verifier,
    outbox,
    correlator: new Correlator(),
    selfNodes: new Set([SELF]),
    audit: (e) => {
      audits.push(e);
    },
    logger: quietLogger(),
    dedupeWindowMs: WINDOW_MS,
    now: () => clock,
    // These tests use made-up types (test.ping): the schema check has its own tests (cs-contract-gaps).
    checkBody: (_type, body) => ({ ok: true, value: body }),
  });
});
afterAll(async () => {
  outbox.close();
  await db.close();
  await peer.close();
  dir.cleanup();
});

const message = (type: string, over: Partial<Envelope> = {}): Envelope => ({
  v: 1,
  id: uuidv7(),
  type,
  from: 'pref:240001',
  to: SELF,
  at: nowIso(clock),
  corr: null,
  body: { n: 1 },
  ...over,
});
const payload = async (e: Envelope) => Buffer.from(JSON.stringify(await peer.signEnvelope(e)));

describe('inbox', () => {
  it('dispatches once, answers a duplicate again, forgets ids after the window', async () => {
    const seen: string[] = [];
    inbox.on('test.ping', async (e, { batch }) => {
      seen.push(e.id);
      batch.put<string, string>('flow!' + e.id, 'done', { sublevel: db.sublevel('identity', { valueEncoding: 'utf8' }) as never });
      return { ...e, id: uuidv7(), type: 'test.ping.result', from: SELF, to: e.from, corr: e.id, body: { ok: true } };
    });
    const e = message('test.ping');
    const bytes = await payload(e);
    expect(await inbox.handle('juki', `to/${SELF}/test.ping`, bytes)).toBe('dispatched');
    expect(await inbox.handle('juki', `to/${SELF}/test.ping`, bytes)).toBe('duplicate');
    expect(seen).toEqual([e.id]);
    // The flow's change, the dedupe mark and the reply committed together; the duplicate re-queued the same reply.
    expect(await db.sublevel('identity', { valueEncoding: 'utf8' }).get('flow!' + e.id)).toBe('done');
    const replies = (await outbox.list()).filter((r) => r.type === 'test.ping.result');
    expect(replies).toHaveLength(2);
    expect(new Set(replies.map((r) => r.id)).size).toBe(1);

    clock += WINDOW_MS + 1000;
    expect(await inbox.expire()).toBeGreaterThanOrEqual(1);
    expect(await inbox.handle('juki', `to/${SELF}/test.ping`, bytes)).toBe('refused');
    expect(audits.at(-1)).toMatchObject({ reason: 'stale', kind: 'uplink.refused' });
    expect(seen).toHaveLength(1);
  });

  it('refuses and audits misrouted, unsigned and unhandled messages', async () => {
    audits.length = 0;
    expect(await inbox.handle('juki', 'to/lg:141003/test.ping', await payload(message('test.ping', { to: 'lg:141003' })))).toBe('refused');
    expect(await inbox.handle('juki', `to/lg:141003/test.ping`, await payload(message('test.ping')))).toBe('refused');
    expect(await inbox.handle('juki', `to/${SELF}/test.ping`, Buffer.from(JSON.stringify(message('test.ping'))))).toBe('refused');
    const unknown = message('test.unknown');
    expect(await inbox.handle('juki', `to/${SELF}/test.unknown`, await payload(unknown))).toBe('refused');
    expect(audits.map((a) => a.reason)).toEqual(['misrouted', 'misrouted', 'malformed', 'unhandled_type']);
    expect(audits[3]).toMatchObject({ kind: 'uplink.refused', id: unknown.id, type: 'test.unknown', from: 'pref:240001' });
    const answer = (await outbox.list({ limit: 1000 })).find((r) => r.type === 'error' && r.to === 'pref:240001');
    expect(answer).toBeDefined();
  });

  it("leaves the id unseen when the flow fails, so the sender's retry is processed", async () => {
    let fail = true;
    inbox.on('test.flaky', async () => {
      if (fail) throw new Error('disk full');
    });
    const bytes = await payload(message('test.flaky'));
    expect(await inbox.handle('juki', `to/${SELF}/test.flaky`, bytes)).toBe('failed');
    fail = false;
    expect(await inbox.handle('juki', `to/${SELF}/test.flaky`, bytes)).toBe('dispatched');
  });
});
