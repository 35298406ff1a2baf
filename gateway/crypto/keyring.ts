// Data keys for personal data at rest (個人情報の暗号化). Each data key is stored only wrapped by the
// KEK on the token; unwrapped copies live in memory while the appliance runs, which is what lets
// the value encoding stay synchronous (abstract-level encodings cannot await the token).
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../platform/log/logger.js';
import { SUBLEVELS, type Db } from '../../platform/store/db.js';
import type { KeyEncryptionKey } from './kek.js';
import { SealedValueError, sealWith, unsealWith } from './sealed.js';
import { sealedEncoding, type SealedEncoding, type SealedInner } from './encoding.js';
import { trackWrites } from './writeTracker.js';

export interface DataKeyRecord {
  id: number;
  kek: string;
  /** base64 of the wrapped key; absent once retired (crypto-shredded). */
  wrapped?: string;
  createdAt: string;
  state: 'active' | 'retired';
  retiredAt?: string;
}

interface SecretRecord {
  kek: string;
  wrapped: string;
  createdAt: string;
}

export interface DataKeyInfo {
  id: number;
  state: 'active' | 'retired';
  current: boolean;
  createdAt: string;
  retiredAt?: string;
}

export interface Keyring {
  readonly kek: KeyEncryptionKey;
  currentKeyId(): number;
  /** AES-256-GCM under the current data key, fresh 96-bit nonce. */
  seal(plain: Uint8Array): Uint8Array;
  /** Throws SealedValueError (never returns unauthenticated bytes). */
  unseal(sealed: Uint8Array): Uint8Array;
  /** Value encoding for sublevels holding personal data: `db.sublevel(name, { valueEncoding: keyring.valueEncoding('json') })`. */
  valueEncoding(inner: 'json'): SealedEncoding<unknown>;
  valueEncoding(inner: 'utf8'): SealedEncoding<string>;
  valueEncoding(inner: 'view'): SealedEncoding<Uint8Array>;
  /** A named 32-byte secret (e.g. blind-index / audit HMAC key), created once, stored wrapped. */
  secret(name: string): Promise<Uint8Array>;
  /** A new data key becomes current; values under older keys stay readable. */
  rotate(): Promise<number>;
  /** Forget a data key (its wrapped copy is deleted). Call only after a re-encryption pass found no value left under it. */
  retire(keyId: number): Promise<void>;
  keys(): DataKeyInfo[];
  close(): Promise<void>;
}

const CURRENT = 'current-data-key';
const dkKey = (id: number) => `data-key/${id.toString().padStart(10, '0')}`;
const secretKey = (name: string) => `secret/${name}`;

interface Shared {
  ring: Promise<Keyring>;
  kekId: string;
  refs: number;
}
const shared = new WeakMap<Db, Shared>();

/**
 * One keyring per database: every component that opens it gets the same data keys, so a rotation
 * is seen by all writers at once (a second, stale keyring would keep sealing under a key that is
 * about to be retired). Each returned handle's close() releases one reference.
 */
export async function openKeyring(opts: { db: Db; kek: KeyEncryptionKey; logger?: Logger }): Promise<Keyring> {
  let entry = shared.get(opts.db);
  if (entry && entry.kekId !== opts.kek.id) {
    throw new Error(`keyring: already open on this database with KEK ${entry.kekId}, not ${opts.kek.id}`);
  }
  if (!entry) {
    const created: Shared = { ring: createKeyring(opts), kekId: opts.kek.id, refs: 0 };
    entry = created;
    shared.set(opts.db, created);
    created.ring.catch(() => {
      if (shared.get(opts.db) === created) shared.delete(opts.db);
    });
  }
  const e = entry;
  const core = await e.ring;
  e.refs++;
  let released = false;
  return Object.assign(Object.create(core) as Keyring, {
    async close() {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      if (shared.get(opts.db) === e) shared.delete(opts.db);
      await core.close();
    },
  });
}

async function createKeyring(opts: { db: Db; kek: KeyEncryptionKey; logger?: Logger | undefined }): Promise<Keyring> {
  const { db, kek, logger } = opts;
  // From the first write on, so a later re-encryption pass knows which writes are still in flight.
  trackWrites(db);
  const store = db.sublevel<string, unknown>(SUBLEVELS.keys, { valueEncoding: 'json' });
  const records = new Map<number, DataKeyRecord>();
  const keys = new Map<number, Uint8Array>();
  for await (const [k, v] of store.iterator({ gte: 'data-key/', lt: 'data-key0' })) {
    const rec = v as DataKeyRecord;
    if (typeof rec?.id !== 'number') throw new Error(`keyring: malformed data key record ${k}`);
    records.set(rec.id, rec);
    if (rec.state === 'active') {
      if (!rec.wrapped) throw new Error(`keyring: active data key ${rec.id} has no wrapped value`);
      if (rec.kek !== kek.id) throw new Error(`keyring: data key ${rec.id} is wrapped by ${rec.kek}, not by the configured ${kek.id}`);
      keys.set(rec.id, await kek.unwrap(Buffer.from(rec.wrapped, 'base64')));
    }
  }
  let current = ((await store.get(CURRENT)) as { id: number } | undefined)?.id;

  async function createKey(): Promise<number> {
    const id = Math.max(0, ...records.keys()) + 1;
    const key = randomBytes(32);
    const rec: DataKeyRecord = {
      id,
      kek: kek.id,
      wrapped: Buffer.from(await kek.wrap(key)).toString('base64'),
      createdAt: new Date().toISOString(),
      state: 'active',
    };
    // Key record and current pointer together: a crash never leaves a current id without its key.
    await store.batch([
      { type: 'put', key: dkKey(id), value: rec },
      { type: 'put', key: CURRENT, value: { id } },
    ]);
    records.set(id, rec);
    keys.set(id, key);
    current = id;
    logger?.info({ keyId: id, kek: kek.id }, 'data key created and made current');
    return id;
  }

  if (current === undefined || !keys.has(current)) {
    if (current !== undefined) throw new Error(`keyring: current data key ${current} is missing or retired`);
    await createKey();
  }

  const lookup = (id: number): Uint8Array => {
    const k = keys.get(id);
    if (k) return k;
    const rec = records.get(id);
    if (rec?.state === 'retired') throw new SealedValueError('retired_key', `value is sealed under retired data key ${id}`, id);
    throw new SealedValueError('unknown_key', `value is sealed under unknown data key ${id}`, id);
  };

  const encodings = new Map<SealedInner, SealedEncoding<never>>();
  const ring: Keyring = {
    kek,
    currentKeyId: () => current!,
    seal: (plain) => sealWith(current!, lookup(current!), plain),
    unseal: (sealed) => unsealWith(lookup, sealed),
    valueEncoding(inner: SealedInner) {
      let e = encodings.get(inner);
      if (!e) encodings.set(inner, (e = sealedEncoding(ring, inner) as SealedEncoding<never>));
      return e;
    },
    async secret(name) {
      if (!/^[a-z0-9][a-z0-9.-]{0,63}$/.test(name)) throw new Error(`keyring: bad secret name "${name}"`);
      const rec = (await store.get(secretKey(name))) as SecretRecord | undefined;
      if (rec) {
        if (rec.kek !== kek.id) throw new Error(`keyring: secret ${name} is wrapped by ${rec.kek}, not by ${kek.id}`);
        return kek.unwrap(Buffer.from(rec.wrapped, 'base64'));
      }
      const value = randomBytes(32);
      await store.put(secretKey(name), {
        kek: kek.id,
        wrapped: Buffer.from(await kek.wrap(value)).toString('base64'),
        createdAt: new Date().toISOString(),
      });
      return value;
    },
    rotate: createKey,
    async retire(keyId) {
      const rec = records.get(keyId);
      if (!rec) throw new Error(`keyring: no data key ${keyId}`);
      if (keyId === current) throw new Error(`keyring: data key ${keyId} is current; rotate first`);
      if (rec.state === 'retired') return;
      const retired: DataKeyRecord = {
        id: rec.id,
        kek: rec.kek,
        createdAt: rec.createdAt,
        state: 'retired',
        retiredAt: new Date().toISOString(),
      };
      await store.put(dkKey(keyId), retired);
      records.set(keyId, retired);
      keys.get(keyId)?.fill(0);
      keys.delete(keyId);
      logger?.info({ keyId }, 'data key retired');
    },
    keys: () =>
      [...records.values()]
        .sort((a, b) => a.id - b.id)
        .map((r) => ({
          id: r.id,
          state: r.state,
          current: r.id === current,
          createdAt: r.createdAt,
          ...(r.retiredAt ? { retiredAt: r.retiredAt } : {}),
        })),
    async close() {
      for (const k of keys.values()) k.fill(0);
      keys.clear();
    },
  };
  return ring;
}
