// PKCS#11 KEK: an AES-256 key generated on the token (sensitive, never extractable) wraps data keys
// with CKM_AES_KEY_WRAP_PAD (RFC 5649; SoftHSM2 2.6 offers it for C_WrapKey/C_UnwrapKey only).
// The data key is imported as a short-lived session object for wrapping and read back from a
// session object after unwrapping; both objects are destroyed at once.
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { KekError, type KeyEncryptionKey } from './kek.js';

export interface Pkcs11KekOptions {
  module: string;
  tokenLabel?: string;
  slot?: number;
  pin: string;
  /** CKA_LABEL of the AES wrapping key on the token; created on first use. */
  keyLabel?: string;
}

type Handle = Buffer;

function isCode(e: unknown, code: number): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

export function openPkcs11Kek(opts: Pkcs11KekOptions): KeyEncryptionKey {
  const keyLabel = opts.keyLabel ?? 'juki-gw-kek';
  const p11 = new pkcs11js.PKCS11();
  p11.load(opts.module);
  try {
    // OS locking: the signer may hold parallel sessions on the same module in this process.
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (!isCode(e, pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw new KekError(`PKCS#11 initialise failed: ${(e as Error).message}`);
  }
  const slots = p11.C_GetSlotList(true);
  let slot: Handle | undefined;
  if (opts.tokenLabel !== undefined) {
    slot = slots.find((s) => p11.C_GetTokenInfo(s).label.trim() === opts.tokenLabel);
    if (!slot) throw new KekError(`no PKCS#11 token labelled "${opts.tokenLabel}"`);
  } else {
    slot = slots[opts.slot ?? 0];
    if (!slot) throw new KekError(`no PKCS#11 token in slot index ${opts.slot ?? 0} (${slots.length} present)`);
  }
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    p11.C_Login(session, pkcs11js.CKU_USER, opts.pin);
  } catch (e) {
    if (!isCode(e, pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) {
      p11.C_CloseSession(session);
      throw new KekError(`PKCS#11 login failed: ${(e as Error).message.split(':')[0]}`);
    }
  }

  const find = (): Handle | undefined => {
    p11.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_LABEL, value: keyLabel },
    ]);
    const found = p11.C_FindObjects(session, 2);
    p11.C_FindObjectsFinal(session);
    if (found.length > 1) throw new KekError(`more than one secret key labelled "${keyLabel}" on the token`);
    return found[0];
  };
  let kek = find();
  if (!kek) {
    kek = p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
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
  }
  const kekHandle = kek;
  const serial = p11.C_GetTokenInfo(slot).serialNumber.trim();
  const id = `pkcs11:${createHash('sha256').update(`${serial}/${keyLabel}`).digest('hex').slice(0, 16)}`;
  const mech = { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD };
  const sessionKeyTemplate = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_SENSITIVE, value: false },
    { type: pkcs11js.CKA_EXTRACTABLE, value: true },
  ];
  let closed = false;
  const live = () => { if (closed) throw new KekError('key-encryption key is closed'); };

  return {
    kind: 'pkcs11', id,
    async wrap(dataKey) {
      live();
      const obj = p11.C_CreateObject(session, [...sessionKeyTemplate, { type: pkcs11js.CKA_VALUE, value: Buffer.from(dataKey) }]);
      try {
        return Buffer.from(p11.C_WrapKey(session, mech, kekHandle, obj, Buffer.alloc(dataKey.length + 16)));
      } finally {
        p11.C_DestroyObject(session, obj);
      }
    },
    async unwrap(wrapped) {
      live();
      let obj: Handle;
      try {
        obj = p11.C_UnwrapKey(session, mech, kekHandle, Buffer.from(wrapped), sessionKeyTemplate);
      } catch (e) {
        throw new KekError(`wrapped key does not unwrap with ${id} (other KEK, or altered): ${(e as Error).message.split(':')[0]}`);
      }
      try {
        const [attr] = p11.C_GetAttributeValue(session, obj, [{ type: pkcs11js.CKA_VALUE }]);
        const value = attr?.value;
        if (!Buffer.isBuffer(value)) throw new KekError('token returned no key value after unwrap');
        return Buffer.from(value);
      } finally {
        p11.C_DestroyObject(session, obj);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Neither C_Logout nor C_Finalize: both act on the whole process and would cut off the signer.
      try { p11.C_CloseSession(session); } catch { /* token already gone */ }
    },
  };
}
