// Backup and restore of an appliance data dir (signed manifest, optional encryption).
export { BackupRefused, type Manifest, type ManifestPart, type Part } from './archive.js';
export { createBackup, signParts, type CreateBackupOptions } from './create.js';
export { restoreBackup, verifyBackup, type RestoreResult, type VerifiedBackup } from './restore.js';
export { isEncrypted, type DecryptWith, type EncryptTo } from './container.js';
export { snapshotDataDir, DB_PART, type RecordSource } from './snapshot.js';
