// One loaded and initialized PKCS#11 module per path per process, shared by reference count:
// a library is initialized once per process, and finalizing it would cut every other user off.
// Default import: Node's ESM view of this CommonJS module does not list its constants as named exports.
import pkcs11js from 'pkcs11js';
import { TokenConfigError } from './errors.js';

export type Pkcs11 = pkcs11js.PKCS11;
export type Handle = pkcs11js.Handle;
export { pkcs11js };

interface Loaded {
  lib: Pkcs11;
  refs: number;
}
const loaded = new Map<string, Loaded>();

/** Loads the module and calls C_Initialize with CKF_OS_LOCKING_OK (required for parallel sessions). */
export function acquireModule(path: string): Pkcs11 {
  const hit = loaded.get(path);
  if (hit) {
    hit.refs++;
    return hit.lib;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw new TokenConfigError(`cannot load PKCS#11 module ${path}: ${(e as Error).message}`);
  }
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (rvOf(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  loaded.set(path, { lib, refs: 1 });
  return lib;
}

export function releaseModule(path: string): void {
  const hit = loaded.get(path);
  if (!hit || --hit.refs > 0) return;
  loaded.delete(path);
  try {
    hit.lib.C_Finalize();
  } catch {
    /* already finalized or module gone */
  }
  try {
    hit.lib.close();
  } catch {
    /* ignore */
  }
}

/**
 * Finalizes and initializes the module again: after a token vanished, some modules (SoftHSM among
 * them) only see it again from a fresh library state. Every user's sessions end; they log in again.
 */
export function reinitializeModule(path: string): void {
  const hit = loaded.get(path);
  if (!hit) return;
  try {
    hit.lib.C_Finalize();
  } catch {
    /* not initialized */
  }
  hit.lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
}

/** The CKR_* code of a pkcs11js error, or undefined for other errors. */
export function rvOf(e: unknown): number | undefined {
  if (e instanceof pkcs11js.Pkcs11Error) return e.code;
  const m = /CKR_[A-Z_]+/.exec(String((e as Error)?.message ?? ''));
  if (m) {
    const v: unknown = Reflect.get(pkcs11js, m[0]);
    if (typeof v === 'number') return v;
  }
  return undefined;
}

export function rvName(e: unknown): string {
  const m = /CKR_[A-Z_]+/.exec(String((e as Error)?.message ?? ''));
  return m ? m[0] : String((e as Error)?.message ?? e);
}

/** Return values meaning the token, the session or the login went away (not our mistake). */
export const LOST_CODES = new Set<number>([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
  pkcs11js.CKR_SLOT_ID_INVALID,
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_DEVICE_MEMORY,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_FUNCTION_FAILED,
]);

/** Finds the slot holding the token with this label (or this slot ID). */
export function findSlot(lib: Pkcs11, where: { tokenLabel?: string | undefined; slot?: number | undefined }): Handle | undefined {
  for (const slot of lib.C_GetSlotList(true)) {
    if (where.slot !== undefined && slotNumber(slot) !== where.slot) continue;
    if (where.tokenLabel !== undefined && lib.C_GetTokenInfo(slot).label.trim() !== where.tokenLabel) continue;
    return slot;
  }
  return undefined;
}

export function slotNumber(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}
