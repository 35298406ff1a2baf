// PKCS#11 KEK: an AES-256 key generated on the token (sensitive, never extractable) wraps data keys
// with CKM_AES_KEY_WRAP_PAD (RFC 5649; SoftHSM2 2.6 offers it for C_WrapKey/C_UnwrapKey only).
// The data key is imported as a short-lived session object for wrapping and read back from a
// session object after unwrapping; both objects are destroyed at once. The module is shared with
// the signer through hsm/pkcs11-module.ts, so neither finalizes it under the other.
import { createHash } from 'node:crypto';
import { acquireModule, findSlot, LOST_CODES, pkcs11js, releaseModule, rvName, rvOf, type Handle } from '../../hsm/pkcs11-module.js';
import { KekError, type KeyEncryptionKey } from './kek.js';

export interface Pkcs11KekOptions {
  module: string;
  tokenLabel?: string | undefined;
  /** Slot ID (as the hsm config section means it). */
  slot?: number | undefined;
  pin: string;
  /** CKA_LABEL of the AES wrapping key on the token; created on first use. */
  keyLabel?: string;
}

const SESSION_KEY = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_SENSITIVE, value: false },
  { type: pkcs11js.CKA_EXTRACTABLE, value: true },
];
const MECH = { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD };

export function openPkcs11Kek(opts: Pkcs11KekOptions): KeyEncryptionKey {
  const keyLabel = opts.keyLabel ?? 'juki-gw-kek';
  const lib = acquireModule(opts.module);
  let serial = '';

  const openSession = (): { session: Handle; kek: Handle } => {
    const slot = findSlot(lib, { tokenLabel: opts.tokenLabel, slot: opts.slot });
    if (!slot)
      throw new KekError(
        opts.tokenLabel !== undefined
          ? `no PKCS#11 token labelled "${opts.tokenLabel}"`
          : `no PKCS#11 token in slot ${opts.slot ?? '(any)'}`,
      );
    serial = lib.C_GetTokenInfo(slot).serialNumber.trim();
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, opts.pin);
      } catch (e) {
        if (rvOf(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw new KekError(`PKCS#11 login failed: ${rvName(e)}`);
      }
      lib.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_LABEL, value: keyLabel },
      ]);
      const found = lib.C_FindObjects(session, 2);
      lib.C_FindObjectsFinal(session);
      if (found.length > 1) throw new KekError(`more than one secret key labelled "${keyLabel}" on the token`);
      const kek =
        found[0] ??
        lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
          { type: pkcs11js.CKA_LABEL, value: keyLabel },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_WRAP, value: true },
          { type: pkcs11js.CKA_UNWRAP, value: true },
          { type: pkcs11js.CKA_ENCRYPT, value: false },
          { type: pkcs11js.CKA_DECRYPT, value: false },
        ]);
      return { session, kek };
    } catch (e) {
      try {
        lib.C_CloseSession(session);
      } catch {
        /* already gone */
      }
      throw e;
    }
  };

  let current: { session: Handle; kek: Handle };
  try {
    current = openSession();
  } catch (e) {
    releaseModule(opts.module);
    throw e;
  }
  const id = `pkcs11:${createHash('sha256').update(`${serial}/${keyLabel}`).digest('hex').slice(0, 16)}`;
  let closed = false;

  /** Runs fn on the session; after a token/session loss (re-initialised module, token back) reopens once. */
  const withSession = <T>(fn: (s: Handle, kek: Handle) => T): T => {
    if (closed) throw new KekError('key-encryption key is closed');
    try {
      return fn(current.session, current.kek);
    } catch (e) {
      const rv = rvOf(e);
      if (rv === undefined || !LOST_CODES.has(rv)) throw e;
      try {
        lib.C_CloseSession(current.session);
      } catch {
        /* already gone */
      }
      current = openSession();
      return fn(current.session, current.kek);
    }
  };

  return {
    kind: 'pkcs11',
    id,
    async wrap(dataKey) {
      return withSession((s, kek) => {
        const obj = lib.C_CreateObject(s, [...SESSION_KEY, { type: pkcs11js.CKA_VALUE, value: Buffer.from(dataKey) }]);
        try {
          return Buffer.from(lib.C_WrapKey(s, MECH, kek, obj, Buffer.alloc(dataKey.length + 16)));
        } finally {
          lib.C_DestroyObject(s, obj);
        }
      });
    },
    async unwrap(wrapped) {
      let obj: Handle;
      let session: Handle;
      try {
        [obj, session] = withSession((s, kek) => [lib.C_UnwrapKey(s, MECH, kek, Buffer.from(wrapped), SESSION_KEY), s] as const);
      } catch (e) {
        throw new KekError(`wrapped key does not unwrap with ${id} (other KEK, or altered): ${rvName(e)}`);
      }
      try {
        const [attr] = lib.C_GetAttributeValue(session, obj, [{ type: pkcs11js.CKA_VALUE }]);
        if (!Buffer.isBuffer(attr?.value)) throw new KekError('token returned no key value after unwrap');
        return Buffer.from(attr.value);
      } finally {
        lib.C_DestroyObject(session, obj);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // No C_Logout: login state is shared by every session of the process, the signer's included.
      try {
        lib.C_CloseSession(current.session);
      } catch {
        /* token already gone */
      }
      releaseModule(opts.module);
    },
  };
}
