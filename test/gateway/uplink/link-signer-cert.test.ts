// Which certificate signs on each upstream link: with simulated upstreams the wire carries the kid of
// the certificate the simulated CA issued for the token key, not hsm/<keyLabel>.cert.pem. `keys list`
// and the start-up log name it per link, `keys export-cert` hands it to the upstream team, and the
// commands of docs/verifying.md, run as written, verify a message captured from that link's wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { uuidv7 } from '../../../platform/envelope.js';
import { loadConfig } from '../../../config/load.js';
import { hsmSection } from '../../../config/schema/hsm.js';
import { createSigner } from '../../../hsm/create-signer.js';
import { certifyAppliance, openSimPki } from '../../../sim/pki.js';
import { keysFromHsm } from '../../../admin-ui/adapters/keys.js';
import { describeLinkSigner, linkSigners } from '../../../gateway/uplink/linkSigners.js';
import { spawnAppliance, type ApplianceProcess } from '../../helpers/appliance-process.js';
import { connectClient, endClient } from '../../helpers/mqtt.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';
import { jukiGw } from '../../helpers/cli.js';
import { until } from '../../helpers/until.js';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'juki-gw.js');
const tmp = tempDir('jukigw-link-signer-');
const dataDir = join(tmp.path, 'data');
/** The docs' examples name the configuration juki-gw.yaml in the current directory. */
const config = join(tmp.path, 'juki-gw.yaml');
const env = () => {
  const e = { ...process.env };
  delete e.SOFTHSM2_CONF;
  return e;
};
const kidOfPem = (file: string) =>
  createHash('sha256')
    .update(new X509Certificate(readFileSync(file)).raw)
    .digest('base64url');

describe('the certificate that signs each upstream link', () => {
  let app: ApplianceProcess;
  let wire: MqttClient;
  const captured: string[] = [];

  beforeAll(async () => {
    const pw = join(tmp.path, 'term-01.pw');
    writeFileSync(pw, 'term-01 test password\n', { mode: 0o600 });
    const plainPort = await freePort();
    writeFileSync(
      config,
      [
        "municipalities: ['242012']",
        `dataDir: ${dataDir}`,
        `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${plainPort} }]`,
        `systems: [{ id: term-01, role: terminal, password: { file: ${pw} } }]`,
        `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
        'ui: { enabled: false }',
        'limits: { minFreeDiskBytes: 0 }',
        '',
      ].join('\n'),
    );
    app = await spawnAppliance(config, env());
    // The simulated upstream broker: capture what the appliance publishes on it (the link's wire).
    const simLine = app
      .log()
      .split('\n')
      .find((l) => l.includes('SIMULATED upstream') && l.includes('"url"'));
    wire = await connectClient(JSON.parse(simLine!).url as string, { clientId: 'wire-capture' });
    wire.on('message', (_t, payload) => captured.push(payload.toString('utf8')));
    await wire.subscribeAsync('to/national/#', { qos: 1 });
    const term = await connectClient(`mqtt://127.0.0.1:${plainPort}`, {
      clientId: 'term-01',
      username: 'term-01',
      password: 'term-01 test password',
      clean: false,
    });
    await term.subscribeAsync('res/term-01', { qos: 1 });
    const envelope = {
      v: 1,
      id: uuidv7(),
      type: 'jlis.inquiry',
      body: { by: 'myNumber', myNumber: '123456789018', dutyCode: 'J05', operatorId: 'op-1', terminalId: 'term-01' },
    };
    await term.publishAsync('req/jlis.inquiry', JSON.stringify(envelope), { qos: 1 });
    await until(() => captured.length > 0, 30_000, 'a message on the simulated link');
    await endClient(term);
  }, 180_000);
  afterAll(async () => {
    if (wire) await endClient(wire, true);
    if (app) await app.stop();
    tmp.cleanup();
  });

  it('keys list and the start-up log name, per link, the certificate and kid on the wire', async () => {
    const kidOnWire = JSON.parse(Buffer.from(JSON.parse(captured[0]!).protected, 'base64url').toString()).kid as string;
    const simCert = join(dataDir, 'sim-pki', 'peers', 'lg_242012.pem');
    expect(kidOfPem(simCert)).toBe(kidOnWire);
    expect(kidOfPem(join(dataDir, 'hsm', 'juki-gw-signing.cert.pem'))).not.toBe(kidOnWire);
    const list = await jukiGw(['keys', 'list', '--config', config], { env: env() });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`link  simulated  kid ${kidOnWire}  certificate ${simCert}`);
    const line = app
      .log()
      .split('\n')
      .find((l) => l.includes('"msg":"upstream link signs with"'));
    expect(JSON.parse(line!)).toMatchObject({ link: 'simulated', kid: kidOnWire, certificate: simCert });
  });

  it("the HSM page's data (the keys adapter, as the appliance wires it) has a row per link with the kid on the wire", async () => {
    const loaded = loadConfig(config);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const cfg = loaded.config;
    const rows = await keysFromHsm({
      hsm: () => cfg.hsm,
      dataDir: cfg.dataDir,
      trustAnchorFiles: () => [],
      links: () => linkSigners(cfg).map(describeLinkSigner),
    }).list();
    const kidOnWire = JSON.parse(Buffer.from(JSON.parse(captured[0]!).protected, 'base64url').toString()).kid as string;
    expect(rows.filter((r) => r.link)).toEqual([
      expect.objectContaining({
        link: 'simulated',
        label: 'juki-gw-signing',
        kid: kidOnWire,
        certificateSubject: expect.stringContaining('lg:242012'),
      }),
    ]);
  });

  it("with configured upstreams every link signs with the token key's certificate, and export-cert hands out it and its chain", async () => {
    const configured = join(tmp.path, 'configured.yaml');
    const hsmDir = join(tmp.path, 'configured-hsm');
    mkdirSync(hsmDir);
    const cert = join(hsmDir, 'signing.pem');
    const chain = join(hsmDir, 'chain.pem');
    writeFileSync(cert, readFileSync(join(dataDir, 'sim-pki', 'peers', 'lg_242012.pem')));
    writeFileSync(chain, readFileSync(join(dataDir, 'sim-pki', 'ca', 'ca.pem')));
    writeFileSync(
      configured,
      [
        "municipalities: ['242012']",
        `dataDir: ${join(tmp.path, 'configured-data')}`,
        `hsm: { kind: software, certFile: ${cert}, chainFile: ${chain} }`,
        "upstreams: [{ name: prefecture, url: 'mqtts://127.0.0.1:1', nodes: ['pref:240001'] }, { name: jlis, url: 'mqtts://127.0.0.1:2', nodes: ['national'] }]",
        '',
      ].join('\n'),
    );
    const loaded = loadConfig(configured);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    expect(linkSigners(loaded.config).map(describeLinkSigner)).toEqual(
      ['prefecture', 'jlis'].map((link) =>
        expect.objectContaining({
          link,
          simulated: false,
          certificateFile: cert,
          issuerFile: chain,
          kid: kidOfPem(cert),
          selfSigned: false,
        }),
      ),
    );
    const out = join(tmp.path, 'jlis.pem');
    const caOut = join(tmp.path, 'jlis-ca.pem');
    const r = await jukiGw(['keys', 'export-cert', '--config', configured, '--link', 'jlis', '--out', out, '--ca-out', caOut], {
      env: env(),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`link jlis: certificate .*lg:242012.* \\(kid ${kidOfPem(cert)}\\) written to ${out}, its issuer .* to ${caOut}`),
    );
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(cert, 'utf8'));
    expect(readFileSync(caOut, 'utf8')).toBe(readFileSync(chain, 'utf8'));
  });

  it('the simulated link keeps its certificate across starts while the token key is the same (the exported kid stays valid)', async () => {
    const pki = await openSimPki(join(tmp.path, 'sim-pki-restarts'));
    const key = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: join(tmp.path, 'restart-key') });
    const first = await certifyAppliance(pki, key, 'lg:242012');
    const second = await certifyAppliance(pki, key, 'lg:242012');
    expect(second.kid).toBe(first.kid);
    const other = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: join(tmp.path, 'restart-other-key') });
    const third = await certifyAppliance(pki, other, 'lg:242012');
    expect(third.kid).not.toBe(first.kid);
    for (const s of [key, other]) await s.close();
  });

  it('keys export-cert refuses an unknown link by name and lists the links there are', async () => {
    const r = await jukiGw(['keys', 'export-cert', '--config', config, '--link', 'prefecture', '--out', join(tmp.path, 'x.pem')], {
      env: env(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/keys export-cert: --link prefecture: no such upstream link; the links are: simulated/);
    const none = await jukiGw(['keys', 'export-cert', '--config', config, '--out', join(tmp.path, 'x.pem')], { env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/export-cert: give --link NAME and --out FILE/);
  });

  it('the commands of docs/verifying.md, run as written, verify a message captured from the link', async () => {
    writeFileSync(join(tmp.path, 'message.json'), captured[0]!);
    const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'verifying.md'), 'utf8');
    const block = /<!-- upstream-team-commands -->\s*```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block, 'docs/verifying.md has the upstream-team block').toBeTruthy();
    const commands = block!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l.startsWith('juki-gw '));
    expect(commands.length).toBeGreaterThanOrEqual(2);
    let last = '';
    for (const c of commands) {
      const r = await run(process.execPath, [bin, ...c.split(/\s+/).slice(1)], { cwd: tmp.path, env: env() }).catch(
        (e: { code: number; stderr: string }) => {
          throw new Error(`${c}: exit ${e.code}: ${e.stderr}`);
        },
      );
      last = r.stdout;
    }
    expect(JSON.parse(last)).toMatchObject({
      ok: true,
      kid: kidOfPem(join(dataDir, 'sim-pki', 'peers', 'lg_242012.pem')),
      envelope: { type: 'jlis.inquiry', to: 'national' },
    });
  });
});
