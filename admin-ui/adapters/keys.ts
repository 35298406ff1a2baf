// HSM page ↔ hsm/: the same library functions as `juki-gw keys` (open the configured token, CSR,
// certificate import with the key check). The running signer keeps its key until the next start;
// the page says so.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { HsmConfig } from '../../config/schema/hsm.js';
import {
  certificateFiles,
  certificateRequest,
  describeCertificate,
  kidOf,
  openToken,
  pemBlocks,
  toPem,
  type HsmLogger,
} from '../../hsm/index.js';
import { certificateMatchesKey } from '../../hsm/certs.js';
import type { Pkcs11TokenKey } from '../../hsm/pkcs11-token.js';
import { isMap, parseDocument } from 'yaml';
import type { ConfigService, KeyInfo, KeysService, TrustAnchorInfo } from '../services.js';
import type { LinkSignerInfo } from '../../gateway/uplink/linkSigners.js';

export interface KeysOptions {
  hsm: () => HsmConfig;
  dataDir: string;
  trustAnchorFiles: () => string[];
  /** Adding a trust anchor stores the PEM under dataDir/trust/ and lists it in trust.anchors (a config change). */
  config?: Pick<ConfigService, 'current' | 'apply'>;
  logger?: HsmLogger;
  /** Per upstream link, the certificate its messages are signed with (one row each after the keys). */
  links?: () => LinkSignerInfo[];
}

const LABEL = /^[A-Za-z0-9._-]{1,64}$/;

export function keysFromHsm(opts: KeysOptions): KeysService {
  // One session, no signing threads: the page only reads, generates or signs one CSR.
  const configFor = (label: string, algorithm?: HsmConfig['algorithm']): HsmConfig => {
    if (!LABEL.test(label)) throw new Error('key label: 1-64 characters A-Z a-z 0-9 . _ -');
    const hsm = opts.hsm();
    return { ...hsm, keyLabel: label, sessions: 1, signingThreads: false, algorithm: algorithm ?? hsm.algorithm };
  };
  const withToken = async <T>(
    label: string,
    generate: boolean,
    f: (t: Awaited<ReturnType<typeof openToken>>, hsm: HsmConfig) => Promise<T>,
    algorithm?: HsmConfig['algorithm'],
  ): Promise<T> => {
    const hsm = configFor(label, algorithm);
    const token = await openToken(hsm, {
      dataDir: opts.dataDir,
      generateIfMissing: generate,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    try {
      return await f(token, hsm);
    } finally {
      await token.close();
    }
  };
  const info = (hsm: HsmConfig, spkiDer: Buffer): KeyInfo => {
    const out: KeyInfo = { label: hsm.keyLabel, algorithm: hsm.algorithm, kid: kidOf(spkiDer) };
    const file = certificateFiles(hsm, opts.dataDir).certFile;
    const der = existsSync(file) ? pemBlocks(readFileSync(file, 'utf8'))[0] : undefined;
    if (der) {
      const c = describeCertificate(der, kidOf(der));
      out.certificateSubject = c.subject;
      out.notAfter = c.notAfter.toISOString();
      out.kid = c.kid;
    }
    return out;
  };
  const anchorInfo = (file: string, der: Buffer): TrustAnchorInfo => {
    const x = new X509Certificate(der);
    return {
      file,
      subject: x.subject.replace(/\n/g, ', '),
      notAfter: new Date(x.validTo).toISOString(),
      fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    };
  };
  const svc: KeysService = {
    // Every private key on a PKCS#11 token, as `juki-gw keys list` prints them (the configured one first);
    // a software token holds the configured key only.
    list: async () => {
      const configured = opts.hsm();
      const [first, others] = await withToken(configured.keyLabel, false, async (t, hsm) => {
        if (!('withSession' in t)) return [info(hsm, t.spkiDer), []] as const;
        const { listKeys } = await import('../../hsm/pkcs11-key.js');
        const all = await (t as Pkcs11TokenKey).withSession((lib, session) => listKeys(lib, session));
        return [info(hsm, t.spkiDer), all.filter((k) => k.label !== hsm.keyLabel)] as const;
      });
      const rsa = configured.algorithm === 'ES256' ? 'PS256' : configured.algorithm;
      const out: KeyInfo[] = [first];
      for (const k of [...others].sort((a, b) => a.label.localeCompare(b.label))) {
        if (!LABEL.test(k.label)) {
          out.push({ label: k.label, algorithm: `${k.type}-${k.bits}` });
          continue;
        }
        const alg = k.type === 'EC' ? 'ES256' : rsa;
        out.push(await withToken(k.label, false, async (t, hsm) => info(hsm, t.spkiDer), alg));
      }
      for (const l of opts.links?.() ?? []) {
        out.push({
          label: configured.keyLabel,
          algorithm: configured.algorithm,
          link: l.link,
          ...(l.kid ? { kid: l.kid } : {}),
          ...(l.subject ? { certificateSubject: l.subject } : {}),
          ...(l.notAfter ? { notAfter: l.notAfter } : {}),
        });
      }
      return out;
    },
    generate: (label) => withToken(label, true, async (t, hsm) => info(hsm, t.spkiDer)),
    csr: (label, subject) => withToken(label, false, async (t) => certificateRequest(t, subject)),
    importCert: (label, pem) =>
      withToken(label, false, async (t, hsm) => {
        const der = pemBlocks(pem)[0];
        if (!der) throw new Error('no PEM certificate in the upload');
        if (!certificateMatchesKey(der, t.spkiDer)) throw new Error(`the certificate is not for the key "${label}" on the token`);
        const file = certificateFiles(hsm, opts.dataDir).certFile;
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, toPem(der), { mode: 0o644 });
        return info(hsm, t.spkiDer);
      }),
    async trustAnchors() {
      const out: TrustAnchorInfo[] = [];
      for (const file of opts.trustAnchorFiles()) {
        try {
          for (const der of pemBlocks(readFileSync(file, 'utf8'))) out.push(anchorInfo(file, der));
        } catch (e) {
          out.push({
            file,
            subject: `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            notAfter: '—',
            fingerprintSha256: '—',
          });
        }
      }
      return out;
    },
  };
  if (opts.config) {
    const config = opts.config;
    svc.addTrustAnchor = async (pem, actor) => {
      const der = pemBlocks(pem)[0];
      if (!der) throw new Error('no PEM certificate in the upload');
      const x = new X509Certificate(der);
      if (!x.ca) throw new Error('not a CA certificate (basicConstraints CA:TRUE missing)');
      if (!x.verify(x.publicKey) && opts.trustAnchorFiles().length === 0)
        throw new Error('a first trust anchor must be a self-signed root');
      const file = join(opts.dataDir, 'trust', `${createHash('sha256').update(der).digest('hex').slice(0, 16)}.pem`);
      if (opts.trustAnchorFiles().includes(file)) throw new Error(`already a trust anchor (${file})`);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, toPem(der), { mode: 0o644 });
      const doc = parseDocument((await config.current()).text);
      const trust = doc.get('trust', true);
      const anchors = (isMap(trust) ? (trust.toJSON() as { anchors?: string[] }).anchors : undefined) ?? [];
      doc.setIn(['trust', 'anchors'], doc.createNode([...anchors, file]));
      const r = await config.apply(doc.toString({ lineWidth: 0 }), actor, `trust anchor ${x.subject.replace(/\n/g, ', ')}`);
      if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
      return anchorInfo(file, der);
    };
  }
  return svc;
}
