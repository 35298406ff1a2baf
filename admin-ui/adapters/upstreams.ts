// Upstream links are configuration too: editing one is a versioned config change.
import { isSeq, parseDocument } from 'yaml';
import type { Actor, ApplyResult, ConfigService } from '../services.js';

export interface UpstreamInput {
  name: string;
  url: string;
  nodes: string[];
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
  const entry = { ...(i >= 0 ? list[i] : {}), name: u.name, url: u.url, nodes: u.nodes };
  if (i >= 0) list[i] = entry;
  else list.push(entry);
  doc.set('upstreams', doc.createNode(list));
  return config.apply(doc.toString({ lineWidth: 0 }), actor, `upstream ${u.name}: add or edit`);
}
