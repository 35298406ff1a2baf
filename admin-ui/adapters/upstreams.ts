// Upstream links are configuration too: editing one is a versioned config change.
import { accessSync, constants } from 'node:fs';
import { isSeq, parseDocument } from 'yaml';
import type { Actor, ApplyResult, ConfigService } from '../services.js';

/** The TLS files of a link (config `upstreams[].tls`): all three or none. */
export interface UpstreamTlsInput {
  ca: string;
  cert: string;
  key: string;
}
export const TLS_FILES = ['ca', 'cert', 'key'] as const;
export type TlsFile = (typeof TLS_FILES)[number];

export interface UpstreamInput {
  name: string;
  url: string;
  nodes: string[];
  /** Empty strings: not given; all empty: the link has no TLS files; absent: the link's files unchanged. */
  tls?: UpstreamTlsInput;
}

export type UpstreamTlsProblem =
  | { field: TlsFile; kind: 'missing' }
  | { field: TlsFile; kind: 'unreadable'; path: string; reason: string }
  | { field: 'url'; kind: 'plain-url' };

/**
 * What is wrong with a link's TLS files before the configuration is changed: one missing while another
 * is given, a file this process cannot read (the link would fail at every connect), TLS on a plain URL.
 */
export function upstreamTlsProblems(u: UpstreamInput, canRead: (path: string) => string | undefined = readProblem): UpstreamTlsProblem[] {
  const tls = u.tls;
  if (!tls || TLS_FILES.every((f) => tls[f] === '')) return [];
  const out: UpstreamTlsProblem[] = [];
  for (const field of TLS_FILES) {
    const path = tls[field];
    if (path === '') out.push({ field, kind: 'missing' });
    else {
      const reason = canRead(path);
      if (reason !== undefined) out.push({ field, kind: 'unreadable', path, reason });
    }
  }
  if (!/^(mqtts|ssl):\/\//.test(u.url)) out.push({ field: 'url', kind: 'plain-url' });
  return out;
}

function readProblem(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

export async function upsertUpstream(
  config: Pick<ConfigService, 'current' | 'apply'>,
  u: UpstreamInput,
  actor: Actor,
): Promise<ApplyResult> {
  const head = await config.current();
  const doc = parseDocument(head.text);
  const seq = doc.get('upstreams', true);
  const list = (isSeq(seq) ? seq.toJSON() : []) as Record<string, unknown>[];
  const i = list.findIndex((x) => x.name === u.name);
  const entry: Record<string, unknown> = { ...(i >= 0 ? list[i] : {}), name: u.name, url: u.url, nodes: u.nodes };
  // Given: set, or (all empty) removed; not given: the link's files stay as they are.
  if (u.tls && TLS_FILES.some((f) => u.tls![f] !== '')) entry.tls = { ca: u.tls.ca, cert: u.tls.cert, key: u.tls.key };
  else if (u.tls) delete entry.tls;
  if (i >= 0) list[i] = entry;
  else list.push(entry);
  doc.set('upstreams', doc.createNode(list));
  return config.apply(doc.toString({ lineWidth: 0 }), actor, `upstream ${u.name}: add or edit`);
}
