// Token faults under load on SoftHSM2: signing pauses (TokenUnavailableError, health red, alarm
// logged), messages stay queued, signing resumes by itself; no message is ever emitted unsigned.
// A PIN refused at re-login stops the retry loop.
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hsmSection } from '../../config/schema/hsm.js';
import { uuidv7, nowIso, type Envelope } from '../../platform/envelope.js';
import {
  createSigner,
  createVerifier,
  toPem,
  TokenUnavailableError,
  type FlattenedJws,
  type HsmLogger,
  type TokenSigner,
} from '../../hsm/index.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hsm-faults-');
const tokens: Record<string, SoftHsmToken> = {};
let signer: TokenSigner | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  for (const name of ['removed', 'logout', 'sessions', 'pin']) tokens[name] = createSoftHsmToken({ label: `f-${name}` });
});
afterEach(async () => {
  await signer?.close();
  signer = undefined;
});
afterAll(() => {
  Object.values(tokens)[0]?.cleanup();
  dir.cleanup();
});

function capture(): HsmLogger & { lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = '') => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function start(t: SoftHsmToken, logger: HsmLogger) {
  const config = hsmSection.parse({
    kind: 'pkcs11',
    module: t.module,
    tokenLabel: t.label,
    pin: { env: 'PIN' },
    keyLabel: 'sig',
    sessions: 4,
  });
  signer = await createSigner(config, { dataDir: join(dir.path, t.label), env: { PIN: t.pin }, logger, generateIfMissing: true });
  return signer;
}

/** Another user of the same module in this process (pkcs11js shares the library's login state). */
function sideChannel(t: SoftHsmToken) {
  const lib = new pkcs11js.PKCS11();
  lib.load(t.module);
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch {
    /* already initialized by the signer */
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === t.label)!;
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  return { lib, slot, session };
}

const envelope = (): Envelope => ({
  v: 1,
  id: uuidv7(),
  type: 'card.event',
  from: 'lg:242012',
  to: 'card',
  at: nowIso(),
  corr: null,
  body: { pad: 'x'.repeat(900) },
});

/** Four senders drain a queue; a refused message goes back to the head of the queue (stays queued). */
async function drainUnderLoad(s: TokenSigner, total: number, faultAt: number, fault: () => void) {
  const queue = Array.from({ length: total }, envelope);
  const sent: FlattenedJws[] = [];
  let refusals = 0,
    sawRed = false,
    faulted = false;
  const deadline = Date.now() + 30_000;
  const worker = async () => {
    while (queue.length && Date.now() < deadline) {
      const env = queue.shift()!;
      try {
        sent.push(await s.signEnvelope(env));
        if (!faulted && sent.length >= faultAt) {
          faulted = true;
          fault();
        }
      } catch (e) {
        if (!(e instanceof TokenUnavailableError)) throw e;
        refusals++;
        if (!s.status().ready) sawRed = true;
        queue.unshift(env);
        await sleep(20);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { sent, refusals, sawRed, left: queue.length };
}

async function expectAllSigned(s: TokenSigner, sent: FlattenedJws[], total: number) {
  expect(sent).toHaveLength(total);
  const pem = toPem(s.certificateDer);
  const v = createVerifier({ trustAnchorsPem: pem, peerCertificatesPem: pem, replayWindowSeconds: 300 });
  for (const jws of sent) expect((await v.verify(jws)).ok).toBe(true);
}

describe('token faults under load', () => {
  it('token directory removed, then restored: pause, alarm, red health, resume', async () => {
    const t = tokens.removed!;
    const log = capture();
    const s = await start(t, log);
    const tokenPath = t.path;
    let restored: Promise<number> | undefined;
    // SoftHSM notices the missing folder on a later operation: keep it away until the signer has
    // reported the loss (health red), then bring it back, as an operator re-plugging a token would.
    const r = await drainUnderLoad(s, 1500, 60, () => {
      renameSync(tokenPath, `${tokenPath}.away`);
      restored = (async () => {
        const since = Date.now();
        while (s.status().ready && Date.now() - since < 10_000) await sleep(10);
        const noticedAfter = Date.now() - since;
        await sleep(300);
        renameSync(`${tokenPath}.away`, tokenPath);
        return noticedAfter;
      })();
    });
    expect(restored).toBeDefined();
    expect(await restored!).toBeLessThan(10_000);
    expect(r.left).toBe(0);
    expect(r.refusals).toBeGreaterThan(0);
    expect(r.sawRed).toBe(true);
    expect(log.lines.some((l) => l.level === 'error' && l.obj.alarm === 'hsm_token_lost')).toBe(true);
    expect(log.lines.some((l) => l.msg.includes('signing resumed'))).toBe(true);
    expect(s.status().ready).toBe(true);
    await expectAllSigned(s, r.sent, 1500);
  });

  it('logged out under load: re-login by itself', async () => {
    const t = tokens.logout!;
    const log = capture();
    const s = await start(t, log);
    const side = sideChannel(t);
    const r = await drainUnderLoad(s, 300, 80, () => side.lib.C_Logout(side.session));
    expect(r.refusals).toBeGreaterThan(0);
    expect(r.sawRed).toBe(true);
    expect(log.lines.filter((l) => l.obj.alarm === 'hsm_token_lost')).toHaveLength(1);
    expect(s.status().ready).toBe(true);
    await expectAllSigned(s, r.sent, 300);
  });

  it('sessions closed under load: new sessions by themselves', async () => {
    const t = tokens.sessions!;
    const log = capture();
    const s = await start(t, log);
    const side = sideChannel(t);
    const r = await drainUnderLoad(s, 300, 80, () => side.lib.C_CloseAllSessions(side.slot));
    expect(r.refusals).toBeGreaterThan(0);
    expect(log.lines.some((l) => l.obj.alarm === 'hsm_token_lost')).toBe(true);
    expect(s.status().ready).toBe(true);
    await expectAllSigned(s, r.sent, 300);
  });

  it('PIN changed while lost: one refused re-login, then no more attempts', async () => {
    const t = tokens.pin!;
    const log = capture();
    const s = await start(t, log);
    await s.signEnvelope(envelope());
    const side = sideChannel(t);
    // Same tick: log the user out, change the user PIN as SO. The signer's next re-login must fail.
    side.lib.C_Logout(side.session);
    side.lib.C_Login(side.session, pkcs11js.CKU_SO, t.soPin);
    side.lib.C_InitPIN(side.session, 'a-new-pin-1234');
    side.lib.C_Logout(side.session);
    await expect(s.signEnvelope(envelope())).rejects.toBeInstanceOf(TokenUnavailableError);
    await sleep(2500);
    const refused = log.lines.filter((l) => l.obj.alarm === 'hsm_pin_refused');
    expect(refused).toHaveLength(1);
    expect(s.status()).toMatchObject({ ready: false });
    expect(s.status().detail).toMatch(/PIN refused/);
    expect(s.status().facts?.state).toBe('pin-refused');
    await expect(s.signEnvelope(envelope())).rejects.toBeInstanceOf(TokenUnavailableError);
    // Nothing in the logs carries the PIN.
    expect(JSON.stringify(log.lines)).not.toContain(t.pin);
  });
});
