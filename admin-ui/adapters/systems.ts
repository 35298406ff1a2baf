// Local systems are part of the configuration: add/edit/disable edit the YAML document (comments
// kept) and go through the versions store like any other change — validated, versioned, applied live.
// A client certificate, uploaded or issued by the dev CA, is pinned the same way: its fingerprint goes
// into systems[].certificateSha256 through that same path, so the broker accepts only that certificate.
import { X509Certificate } from 'node:crypto';
import { isMap, isSeq, parseDocument } from 'yaml';
import { certificateFingerprint, checkClientCertificate } from '../../broker/client-cert.js';
import type {
  Actor,
  ApplyResult,
  CertificateUploadResult,
  ConfigService,
  IssuedCertificate,
  LocalSystemInput,
  SystemsService,
} from '../services.js';

export interface SystemsOptions {
  /** Dev CA issuance (hsm/pki); left undefined when the CA is not part of this build. */
  issueClientCert?: (id: string, actor: Actor) => Promise<IssuedCertificate>;
  /** Reads a listener's CA bundle (tests; default: the file system). */
  readFile?: (path: string) => string;
}

async function edit(
  config: Pick<ConfigService, 'current' | 'apply'>,
  actor: Actor,
  comment: string,
  change: (systems: unknown[]) => string | undefined,
): Promise<ApplyResult> {
  const head = await config.current();
  const doc = parseDocument(head.text);
  let seq = doc.get('systems', true);
  if (!isSeq(seq)) {
    doc.set('systems', doc.createNode([]));
    seq = doc.get('systems', true);
  }
  if (!isSeq(seq)) return { ok: false, problems: [{ path: 'systems', message: 'expected a list' }] };
  const plain = seq.items.map((i): unknown => (isMap(i) ? i.toJSON() : i));
  const problem = change(plain);
  if (problem) return { ok: false, problems: [{ path: 'systems', message: problem }] };
  doc.set('systems', doc.createNode(plain, { flow: false }));
  return config.apply(doc.toString({ lineWidth: 0 }), actor, comment);
}

export function createSystemsService(config: Pick<ConfigService, 'current' | 'apply'>, opts: SystemsOptions = {}): SystemsService {
  const svc: SystemsService = {
    list: async () => (await config.current()).config.systems,
    upsert: (s: LocalSystemInput, actor) =>
      edit(config, actor, `system ${s.id}: add or edit`, (list) => {
        const entry: Record<string, unknown> = { id: s.id, role: s.role, description: s.description };
        if (!s.enabled) entry.enabled = false;
        if (s.passwordEnv) entry.password = { env: s.passwordEnv };
        const i = list.findIndex((x) => (x as { id?: unknown }).id === s.id);
        if (i < 0) list.push(entry);
        else {
          const old = list[i] as Record<string, unknown>;
          list[i] = { ...old, ...entry };
          if (s.enabled) delete (list[i] as Record<string, unknown>).enabled;
        }
        return undefined;
      }),
    disable: (id, actor) =>
      edit(config, actor, `system ${id}: disable`, (list) => {
        const i = list.findIndex((x) => (x as { id?: unknown }).id === id);
        if (i < 0) return `no system "${id}"`;
        (list[i] as Record<string, unknown>).enabled = false;
        return undefined;
      }),
  };
  svc.uploadClientCert = async (id, pem, actor): Promise<CertificateUploadResult> => {
    const checked = checkClientCertificate((await config.current()).config, id, pem, opts.readFile ? { readFile: opts.readFile } : {});
    if (!checked.ok) return { ok: false, problems: [{ path: 'certificate', message: checked.message }] };
    const r = await pin(config, actor, id, checked.fingerprintSha256, 'uploaded');
    return r.ok ? { ok: true, fingerprintSha256: checked.fingerprintSha256, notAfter: checked.notAfter, version: r.version } : r;
  };
  const issue = opts.issueClientCert;
  if (issue) {
    svc.issueClientCert = async (id, actor) => {
      const issued = await issue(id, actor);
      const fingerprintSha256 = certificateFingerprint(new X509Certificate(issued.certificatePem).raw);
      const r = await pin(config, actor, id, fingerprintSha256, 'issued by the dev CA');
      // The key is not handed out unless its certificate is the one the broker will accept.
      if (!r.ok) throw new Error(`certificate for ${id} not registered: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
      return { ...issued, fingerprintSha256, configVersion: r.version.version };
    };
  }
  return svc;
}

function pin(
  config: Pick<ConfigService, 'current' | 'apply'>,
  actor: Actor,
  id: string,
  fingerprint: string,
  how: string,
): Promise<ApplyResult> {
  return edit(config, actor, `system ${id}: client certificate ${how} (sha256 ${fingerprint})`, (list) => {
    const i = list.findIndex((x) => (x as { id?: unknown }).id === id);
    if (i < 0) return `no system "${id}"`;
    (list[i] as Record<string, unknown>).certificateSha256 = fingerprint;
    return undefined;
  });
}
