// CLI round trip: dev CA, key generation on a SoftHSM token, CSR, certification, import, list,
// and `juki-gw verify` on a message the appliance signed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as keys from '../../cli/commands/keys.js';
import * as pki from '../../cli/commands/pki.js';
import * as verify from '../../cli/commands/verify.js';
import { loadConfig } from '../../config/load.js';
import { uuidv7, nowIso } from '../../platform/envelope.js';
import { createSigner, b64u } from '../../hsm/index.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hsm-cli-');
let token: SoftHsmToken;
let configFile: string;

// The command modules directly: vitest does not resolve cli/main.ts's computed dynamic imports.
const COMMANDS: Record<string, { run(a: string[]): Promise<number> }> = { keys, pki, verify };

async function cli(name: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => {
    err += String(c);
    return true;
  });
  try {
    const code = await COMMANDS[name]!.run(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

beforeAll(() => {
  token = createSoftHsmToken();
  process.env.CLI_TEST_PIN = token.pin;
  configFile = join(dir.path, 'juki-gw.yaml');
  writeFileSync(
    configFile,
    `municipalities: ['242012']\ndataDir: ${join(dir.path, 'data')}\nhsm:\n  kind: pkcs11\n  module: ${token.module}\n  tokenLabel: ${token.label}\n  pin: { env: CLI_TEST_PIN }\n  keyLabel: node-signing\n`,
  );
});
afterAll(() => {
  delete process.env.CLI_TEST_PIN;
  token.cleanup();
  dir.cleanup();
});

describe('juki-gw keys / pki / verify', () => {
  it('generates on the token, certifies through the dev CA, imports, lists, and verifies a message', async () => {
    const ca = join(dir.path, 'ca');
    expect((await cli('pki', 'init', '--dir', ca)).code).toBe(0);
    const gen = await cli('keys', 'generate', '--config', configFile);
    expect(gen.code, gen.err).toBe(0);
    expect(gen.out).toMatch(/generated key "node-signing"/);
    const again = await cli('keys', 'generate', '--config', configFile);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
    const csr = join(dir.path, 'node.csr');
    expect((await cli('keys', 'csr', '--config', configFile, '--subject', 'CN=lg:242012, O=Tsu City', '--out', csr)).code).toBe(0);
    expect(readFileSync(csr, 'utf8')).toContain('BEGIN CERTIFICATE REQUEST');
    const cert = join(dir.path, 'node.pem');
    expect((await cli('pki', 'sign', '--dir', ca, '--csr', csr, '--out', cert)).code).toBe(0);
    const other = join(dir.path, 'other');
    expect((await cli('pki', 'issue', '--dir', ca, '--kind', 'client', '--cn', 'rr-01', '--out', other)).code).toBe(0);
    const wrong = await cli('keys', 'import', '--config', configFile, '--cert', `${other}.pem`);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/not for the key/);
    const imp = await cli('keys', 'import', '--config', configFile, '--cert', cert, '--chain', join(ca, 'ca.pem'));
    expect(imp.code, imp.err).toBe(0);
    const list = await cli('keys', 'list', '--config', configFile);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/key {2}node-signing +EC-256 .*sensitive=true extractable=false/);
    expect(list.out).toMatch(/cert {2}CN=lg:242012.*issuer CN=juki-gw development CA.*expires .*days/);

    const loaded = loadConfig(configFile);
    if (!loaded.ok) throw new Error('config');
    const signer = await createSigner(loaded.config.hsm, { dataDir: loaded.config.dataDir });
    const jws = await signer.signEnvelope({
      v: 1,
      id: uuidv7(),
      type: 'identity.notify',
      from: 'lg:242012',
      to: 'pref:240001',
      at: nowIso(),
      corr: null,
      body: {},
    });
    await signer.close();
    const msg = join(dir.path, 'message.json');
    writeFileSync(msg, JSON.stringify(jws));
    const ok = await cli('verify', '--trust', join(ca, 'ca.pem'), '--peer', cert, msg);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, signer: 'CN=lg:242012' });
    writeFileSync(
      msg,
      JSON.stringify({ ...jws, payload: b64u(Buffer.from(jws.payload, 'base64url').toString().replace('242012', '242013')) }),
    );
    const bad = await cli('verify', '--trust', join(ca, 'ca.pem'), '--peer', cert, msg);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, code: 'bad_signature' });
    const crl = join(dir.path, 'crl.pem');
    expect((await cli('pki', 'revoke', '--dir', ca, '--cert', cert, '--out', crl)).code).toBe(0);
    writeFileSync(msg, JSON.stringify(jws));
    const revoked = await cli('verify', '--trust', join(ca, 'ca.pem'), '--peer', cert, '--crl', crl, msg);
    expect(JSON.parse(revoked.out)).toMatchObject({ ok: false, code: 'certificate_revoked' });
    expect((await cli('verify', msg)).code).toBe(2);
  });
});
