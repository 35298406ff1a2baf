// Local systems are part of the configuration: add/edit/disable edit the YAML document (comments
// kept) and go through the versions store like any other change — validated, versioned, applied live.
import { isMap, isSeq, parseDocument } from 'yaml';
import type { Actor, ApplyResult, ConfigService, IssuedCertificate, LocalSystemInput, SystemsService } from '../services.js';

export interface SystemsOptions {
  /** Dev CA issuance (hsm/pki); left undefined when the CA is not part of this build. */
  issueClientCert?: (id: string, actor: Actor) => Promise<IssuedCertificate>;
  uploadClientCert?: (id: string, pem: string, actor: Actor) => Promise<void>;
}

async function edit(config: Pick<ConfigService, 'current' | 'apply'>, actor: Actor, comment: string, change: (systems: unknown[]) => string | undefined): Promise<ApplyResult> {
  const head = await config.current();
  const doc = parseDocument(head.text);
  let seq = doc.get('systems', true);
  if (!isSeq(seq)) { doc.set('systems', doc.createNode([])); seq = doc.get('systems', true); }
  if (!isSeq(seq)) return { ok: false, problems: [{ path: 'systems', message: 'expected a list' }] };
  const plain = seq.items.map((i) => (isMap(i) ? i.toJSON() : i));
  const problem = change(plain);
  if (problem) return { ok: false, problems: [{ path: 'systems', message: problem }] };
  doc.set('systems', doc.createNode(plain, { flow: false }));
  return config.apply(doc.toString({ lineWidth: 0 }), actor, comment);
}

export function createSystemsService(config: Pick<ConfigService, 'current' | 'apply'>, opts: SystemsOptions = {}): SystemsService {
  const svc: SystemsService = {
    list: async () => (await config.current()).config.systems,
    upsert: (s: LocalSystemInput, actor) => edit(config, actor, `system ${s.id}: add or edit`, (list) => {
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
    disable: (id, actor) => edit(config, actor, `system ${id}: disable`, (list) => {
      const i = list.findIndex((x) => (x as { id?: unknown }).id === id);
      if (i < 0) return `no system "${id}"`;
      (list[i] as Record<string, unknown>).enabled = false;
      return undefined;
    }),
  };
  if (opts.issueClientCert) svc.issueClientCert = opts.issueClientCert;
  if (opts.uploadClientCert) svc.uploadClientCert = opts.uploadClientCert;
  return svc;
}
