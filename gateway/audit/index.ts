// Audit trail: hash-chained log with HSM-signed checkpoints, verification, export/retention, look-up alarms.
export { createAuditLog, type AuditLog, type AuditLogOptions } from './log.js';
export {
  auditEventSchema,
  parseAuditEvent,
  AuditEventError,
  ACTOR_KINDS,
  OUTCOMES,
  type AuditEvent,
  type AuditEventInput,
} from './event.js';
export { canonicalJson, entryHash, GENESIS_HASH, type AuditEntry } from './chain.js';
export { signCheckpoint, checkpointProblem, type CheckpointRecord, type CheckpointKind } from './checkpoint.js';
export { verifyAuditLog, type VerifyReport, type VerifyIssue, type VerifyReason } from './verify.js';
export { exportSegment, applyRetention, AuditIntegrityError, type SegmentExport, type RetentionResult } from './segment.js';
export type { AuditQuery } from './query.js';
export {
  createLookupAlerts,
  type LookupAlerts,
  type LookupAlarm,
  type LookupAlertConfig,
  type LookupAlarmRule,
  type LookupObservation,
} from './lookupAlerts.js';
export { verifySegmentFile, type SegmentVerifyReport } from './segmentFile.js';
export { openAudit } from './fromConfig.js';
