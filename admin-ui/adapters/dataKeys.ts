// Data key rotation of the running appliance for the UI and API, with its outcome in the audit trail
// (who started it is recorded by the route; how it ended, here, once the background pass is over).
import type { AuditLog } from '../../gateway/audit/index.js';
import { createDataKeyRotation, type DataKeyRotation } from '../../gateway/crypto/rotation.js';
import type { Keyring } from '../../gateway/crypto/keyring.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import { auditFromLog } from './audit.js';

export function dataKeysFromKeyring(opts: { db: Db; keyring: Keyring; auditLog: AuditLog; logger?: Logger }): DataKeyRotation {
  const audit = auditFromLog(opts.auditLog);
  return createDataKeyRotation({
    db: opts.db,
    keyring: opts.keyring,
    ...(opts.logger ? { logger: opts.logger } : {}),
    onFinished: (s) =>
      audit.append({
        action: 'data-key.rotation',
        actor: s.by ?? '(none)',
        outcome: s.state === 'done' && s.complete ? 'ok' : 'failed',
        target: `data key ${s.newKeyId ?? '?'}`,
        detail: `${s.rewritten} values re-encrypted in ${s.passes} pass(es); retired ${s.retired.join(', ') || 'none'}; ${s.detail ?? ''}`,
      }),
    // The appliance, not an operator, goes on with it; who started it is in the detail.
    onResumed: (s) =>
      audit.append({
        action: 'data-key.rotation.resume',
        actor: '(appliance)',
        outcome: 'ok',
        target: `data key ${s.newKeyId ?? '?'}`,
        detail: `rotation started by ${s.by ?? '(none)'} at ${s.startedAt ?? '?'} resumed after a restart; sublevels already done: ${s.finishedSublevels?.join(', ') || 'none'}`,
      }),
  });
}
