// juki-gw keys: the signing key and its certificates on the configured token.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadConfig, formatProblems } from '../../config/load.js';
import type { HsmConfig } from '../../config/schema/hsm.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { plainLogger } from '../plainLog.js';
import { showTime } from '../time.js';
import { parseCommandArgs } from '../args.js';

export const summary =
  'keys list|generate|csr|import|selfsign|export-cert|data-keys|rotate-data-key: signing key on the token, CSR, certificates per upstream link; data keys at rest';

export const USAGE = `juki-gw keys <list|generate|csr|import|selfsign|export-cert|data-keys|rotate-data-key> [--config FILE] [options]
  list                              keys on the token, our certificates with expiry, and per upstream
                                    link the certificate (and kid) its messages are signed with
  export-cert --link NAME --out FILE [--ca-out FILE]
                                    the certificate link NAME signs with, for the upstream team
                                    (--ca-out: its issuer chain, their --trust; docs/verifying.md)
  generate [--label L] [--alg ES256|PS256|RS256] [--rsa-bits 2048|3072]
  csr --subject "CN=lg:242012, O=..." [--out FILE]
  import --cert FILE [--chain FILE]  CA-issued certificate (and chain) for the token key
  selfsign [--subject S] [--days N]   new self-signed development certificate
  data-keys                         data keys of encryption at rest and the last rotation (running appliance)
  rotate-data-key [--no-wait]       new data key, re-encryption of every stored value, older keys retired,
                                    on the RUNNING appliance through its admin API (admin API token in
                                    JUKIGW_API_TOKEN or --token-file FILE; [--url URL] [--ca FILE])`;

const OPTIONS = {
  config: { type: 'string' },
  label: { type: 'string' },
  alg: { type: 'string' },
  'rsa-bits': { type: 'string' },
  subject: { type: 'string' },
  out: { type: 'string' },
  cert: { type: 'string' },
  chain: { type: 'string' },
  days: { type: 'string' },
  url: { type: 'string' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  'no-wait': { type: 'boolean' },
  link: { type: 'string' },
  'ca-out': { type: 'string' },
} as const;

const DATA_KEY_COMMANDS = ['data-keys', 'rotate-data-key'];

const HANDOVER_NOTE =
  'the appliance signs with it from its next start, which hands the audit trail over to it (signed by the outgoing key: keep that key on the token until then)\n';

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const [sub] = parsed.positionals;
  const v = parsed.values;
  if (!sub || !['list', 'generate', 'csr', 'import', 'selfsign', 'export-cert', ...DATA_KEY_COMMANDS].includes(sub)) {
    process.stderr.write(`usage: ${USAGE}\n`);
    return 2;
  }
  if (sub === 'export-cert' && (!v.link || !v.out)) {
    process.stderr.write(`keys export-cert: give --link NAME and --out FILE\nusage: ${USAGE}\n`);
    return 2;
  }
  const loaded = loadConfig(v.config);
  if (!loaded.ok) {
    process.stderr.write(formatProblems(loaded.problems) + '\n');
    return 1;
  }
  if (sub === 'export-cert') return exportCert(loaded.config, v.link!, v.out!, v['ca-out']);
  if (DATA_KEY_COMMANDS.includes(sub)) {
    const { dataKeys } = await import('../dataKeys.js');
    return dataKeys(sub, loaded.config, { url: v.url, tokenFile: v['token-file'], ca: v.ca, wait: !v['no-wait'] });
  }
  const hsm: HsmConfig = { ...loaded.config.hsm };
  if (v.label) hsm.keyLabel = v.label;
  if (v.alg) {
    if (!['ES256', 'PS256', 'RS256'].includes(v.alg)) {
      process.stderr.write('--alg: expected ES256, PS256 or RS256\n');
      return 2;
    }
    hsm.algorithm = v.alg as HsmConfig['algorithm'];
  }
  const rsaBits = v['rsa-bits'] === undefined ? 2048 : Number(v['rsa-bits']);
  if (rsaBits !== 2048 && rsaBits !== 3072) {
    process.stderr.write('--rsa-bits: expected 2048 or 3072\n');
    return 2;
  }
  const dataDir = loaded.config.dataDir;
  // Warnings go to stderr, as sentences, so a CSR on stdout stays clean.
  const logger = plainLogger(`keys ${sub}`);
  const hsmLib = await import('../../hsm/index.js');
  const { certificateFiles } = hsmLib;
  const files = certificateFiles(hsm, dataDir);

  try {
    if (sub === 'generate' && (await keyExists(hsm, dataDir, logger, hsmLib))) {
      process.stderr.write(
        `keys generate: a key labelled "${hsm.keyLabel}" already exists; nothing generated (give --label for another)\n`,
      );
      return 1;
    }
    const token = await hsmLib.openToken(hsm, { dataDir, logger, generateIfMissing: sub === 'generate', rsaBits });
    try {
      if (sub === 'generate') {
        process.stdout.write(
          `generated key "${hsm.keyLabel}" (${hsm.algorithm}) on the ${token.kind} token; public key SHA-256 ${hsmLib.kidOf(token.spkiDer)}\n`,
        );
        return 0;
      }
      if (sub === 'list') return await list(token, hsm, files, hsmLib, loaded.config);
      if (sub === 'csr') {
        if (!v.subject) {
          process.stderr.write('csr: give --subject "CN=..., O=..."\n');
          return 2;
        }
        const pem = await hsmLib.certificateRequest(token, v.subject);
        if (v.out) {
          writeFileSync(v.out, pem);
          process.stdout.write(`wrote ${v.out}\n`);
        } else process.stdout.write(pem);
        return 0;
      }
      if (sub === 'selfsign') {
        const der = await hsmLib.selfSignedCertificate(
          token,
          v.subject ?? `CN=juki-gw ${hsm.keyLabel}, O=juki-gw development`,
          v.days ? Number(v.days) : 825,
        );
        writeFile(files.certFile, hsmLib.toPem(der));
        process.stdout.write(
          `self-signed development certificate written to ${files.certFile}; kid ${hsmLib.kidOf(der)}\n${HANDOVER_NOTE}`,
        );
        return 0;
      }
      // import
      if (!v.cert) {
        process.stderr.write('import: give --cert FILE\n');
        return 2;
      }
      const certDer = hsmLib.pemBlocks(readFileSync(v.cert, 'utf8'))[0];
      if (!certDer) {
        process.stderr.write(`${v.cert}: no PEM certificate\n`);
        return 1;
      }
      if (!hsmLib.certificateMatchesKey(certDer, token.spkiDer)) {
        process.stderr.write(`${v.cert}: the certificate is not for the key "${hsm.keyLabel}" on the token\n`);
        return 1;
      }
      const chainPem = v.chain ? readFileSync(v.chain, 'utf8') : undefined;
      if (chainPem) {
        const issuer = hsmLib.pemBlocks(chainPem)[0];
        const leaf = new X509Certificate(certDer);
        if (!issuer || !leaf.checkIssued(new X509Certificate(issuer)) || !leaf.verify(new X509Certificate(issuer).publicKey)) {
          process.stderr.write(`${v.chain}: its first certificate did not issue ${v.cert}\n`);
          return 1;
        }
      }
      writeFile(files.certFile, hsmLib.toPem(certDer));
      if (chainPem) writeFile(files.chainFile, chainPem);
      process.stdout.write(
        `imported; kid ${hsmLib.kidOf(certDer)} (certificate ${files.certFile}${chainPem ? `, chain ${files.chainFile}` : ''})\n${HANDOVER_NOTE}`,
      );
      return 0;
    } finally {
      await token.close();
    }
  } catch (e) {
    process.stderr.write(`keys ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}

/** True when the configured token already holds the key (never generates). */
async function keyExists(
  hsm: HsmConfig,
  dataDir: string,
  logger: import('../../hsm/index.js').HsmLogger,
  hsmLib: typeof import('../../hsm/index.js'),
): Promise<boolean> {
  const { softwareKeyFile } = await import('../../hsm/create-signer.js');
  const softwareKeyBefore = existsSync(softwareKeyFile(dataDir, hsm.keyLabel));
  if (hsm.kind === 'software') return softwareKeyBefore;
  try {
    // Opening may fall back to (and create) the software key; that one counts as new.
    const token = await hsmLib.openToken(hsm, { dataDir, logger, generateIfMissing: false });
    const software = token.kind === 'software';
    await token.close();
    return software ? softwareKeyBefore : true;
  } catch (e) {
    if (e instanceof hsmLib.TokenConfigError && /no private key labelled/.test(e.message)) return false;
    throw e;
  }
}

function writeFile(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o644 });
}

async function list(
  token: import('../../hsm/index.js').TokenKey,
  hsm: HsmConfig,
  files: { certFile: string; chainFile: string },
  hsmLib: typeof import('../../hsm/index.js'),
  config: ApplianceConfig,
): Promise<number> {
  const s = token.status();
  process.stdout.write(`token: ${s.kind} — ${s.detail}${s.warning ? `  [${s.warning}]` : ''}\n`);
  if ('withSession' in token) {
    const { listKeys } = await import('../../hsm/pkcs11-key.js');
    const keys = await (token as import('../../hsm/pkcs11-token.js').Pkcs11TokenKey).withSession((lib, session) => listKeys(lib, session));
    for (const k of keys)
      process.stdout.write(
        `key  ${k.label.padEnd(24)} ${k.type}-${k.bits}  id=${k.id}  sensitive=${k.sensitive} extractable=${k.extractable}\n`,
      );
  } else {
    process.stdout.write(`key  ${hsm.keyLabel.padEnd(24)} software ${hsm.algorithm}\n`);
  }
  for (const [what, file] of [
    ['cert', files.certFile],
    ['chain', files.chainFile],
  ] as const) {
    if (!existsSync(file)) continue;
    for (const der of hsmLib.pemBlocks(readFileSync(file, 'utf8'))) {
      const c = hsmLib.describeCertificate(der, hsmLib.kidOf(der));
      const days = Math.floor((c.notAfter.getTime() - Date.now()) / 86400_000);
      process.stdout.write(
        `${what.padEnd(5)} ${c.subject}  issuer ${c.issuer}  expires ${showTime(config)(c.notAfter)} (${days < 0 ? 'EXPIRED' : `${days} days`})${c.selfSigned ? '  self-signed' : ''}  kid ${c.kid}\n`,
      );
    }
  }
  const { describeLinkSigner, linkSigners } = await import('../../gateway/uplink/linkSigners.js');
  for (const l of linkSigners(config).map(describeLinkSigner)) {
    process.stdout.write(
      l.kid
        ? `link  ${l.link}  kid ${l.kid}  certificate ${l.certificateFile}  issuer ${l.issuerFile}${l.simulated ? '  (SIMULATED upstream)' : ''}\n`
        : `link  ${l.link}  no certificate yet (${l.certificateFile} is made at the appliance's first start)\n`,
    );
  }
  return 0;
}

/** The certificate (and its issuer chain) a link signs with, as files for the upstream team. */
async function exportCert(config: ApplianceConfig, link: string, out: string, caOut: string | undefined): Promise<number> {
  const { describeLinkSigner, linkSigners } = await import('../../gateway/uplink/linkSigners.js');
  const all = linkSigners(config);
  const found = all.find((l) => l.link === link);
  if (!found) {
    process.stderr.write(`keys export-cert: --link ${link}: no such upstream link; the links are: ${all.map((l) => l.link).join(', ')}\n`);
    return 1;
  }
  const l = describeLinkSigner(found);
  if (!l.kid) {
    process.stderr.write(
      `keys export-cert: link ${link}: ${l.certificateFile} does not exist yet (the appliance makes it at its first start)\n`,
    );
    return 1;
  }
  if (caOut && !existsSync(l.issuerFile)) {
    process.stderr.write(
      `keys export-cert: link ${link}: the issuer chain ${l.issuerFile} does not exist (import it: keys import --cert … --chain …)\n`,
    );
    return 1;
  }
  writeFile(out, readFileSync(l.certificateFile, 'utf8'));
  if (caOut) writeFile(caOut, readFileSync(l.issuerFile, 'utf8'));
  process.stdout.write(
    `link ${link}: certificate ${l.subject} (kid ${l.kid}) written to ${out}${caOut ? `, its issuer ${l.selfSigned ? '(self-signed: the certificate itself)' : l.issuer} to ${caOut}` : ''}\n`,
  );
  return 0;
}
