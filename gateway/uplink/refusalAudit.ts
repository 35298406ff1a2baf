// How a refused upstream message is recorded in the audit trail: the verifier's reason is the code;
// names and ids only, bounded, never the body.
import type { AuditEventInput } from '../audit/index.js';
import type { InboxAuditEvent } from './inbox.js';

export function upstreamRefusalEntry(e: InboxAuditEvent): AuditEventInput {
  return {
    actor: { kind: 'appliance', id: 'inbox' },
    action: 'upstream.refusal',
    outcome: 'refused',
    code: e.reason.slice(0, 64),
    detail: {
      link: e.link,
      topic: e.topic.slice(0, 512),
      detail: e.detail.slice(0, 512),
      id: e.id ?? null,
      type: e.type ?? null,
      from: e.from?.slice(0, 80) ?? null,
    },
  };
}
