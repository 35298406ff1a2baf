// Encryption at rest: keyring of AES-256-GCM data keys wrapped by a KEK on the token.
export { openKeyring, type Keyring, type DataKeyInfo, type DataKeyRecord } from './keyring.js';
export { openFileKek, SOFTWARE_KEK_WARNING } from './fileKek.js';
export { openPkcs11Kek, type Pkcs11KekOptions } from './pkcs11Kek.js';
export { KekError, type KeyEncryptionKey } from './kek.js';
export { SealedValueError, sealedKeyId, SEALED_OVERHEAD, type DecryptFailure } from './sealed.js';
export type { SealedEncoding, SealedInner } from './encoding.js';
export { reencrypt, countByKey, rotateAndRetire, type ReencryptReport, type SublevelRef } from './reencrypt.js';
export { createKeyHasher, HASHED_KEY, type KeyHasher } from './blindIndex.js';
export { openKekFromConfig, KEK_FILE, KEK_LABEL } from './fromConfig.js';
export { openEncryptionAtRest, BLIND_INDEX_SECRET, type EncryptionAtRest } from './atRest.js';
export { sealedCensus, censusByKey, topSublevelOf } from './reencrypt.js';
export { SEALED_SUBLEVELS } from './sealedSublevels.js';
export { createDataKeyRotation, type DataKeyRotation, type DataKeyRotationStatus, type DataKeyRotationOptions } from './rotation.js';
