// Key-encryption keys: data keys live in the database only wrapped by a key that never leaves its
// token (PKCS#11) or, for the software token, by a 0600 file in the data dir.
export interface KeyEncryptionKey {
  readonly kind: 'pkcs11' | 'software';
  /** Stable, non-secret name of the wrapping key (stored with each wrapped data key). */
  readonly id: string;
  /** "software key — not for production" for the file KEK. */
  readonly warning?: string;
  wrap(dataKey: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the wrapped bytes were not made by this KEK or were altered. */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export class KekError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KekError';
  }
}
