// Backup and restore of an appliance data dir (signed manifest, optional encryption).
export { BackupRefused, type Manifest, type ManifestPart, type Part } from './archive.js';
export { createBackup, signParts, NO_KEY_MESSAGE, PLAINTEXT_WARNING, type CreateBackupOptions, type CreatedBackup } from './create.js';
export { restoreBackup, verifyBackup, type RestoreResult, type VerifiedBackup } from './restore.js';
export { restoreClusterStore, type ClusterRestoreResult } from './clusterRestore.js';
export { isEncrypted, type DecryptWith, type EncryptTo } from './container.js';
export { snapshotDataDir, neverBackedUp, DB_PART, type RecordSource, type Snapshot } from './snapshot.js';
