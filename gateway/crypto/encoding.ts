// abstract-level value encoding that seals on encode and unseals on decode, so a component gets
// encryption at rest by choosing this encoding for its sublevel and nothing else.
import { SealedValueError } from './sealed.js';

export type SealedInner = 'json' | 'utf8' | 'view';

export interface SealedEncoding<T> {
  readonly name: string;
  readonly format: 'view';
  encode(value: T): Uint8Array;
  decode(data: Uint8Array): T;
}

interface Sealer {
  seal(plain: Uint8Array): Uint8Array;
  unseal(sealed: Uint8Array): Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
let instances = 0;

export function sealedEncoding(ring: Sealer, inner: SealedInner): SealedEncoding<unknown> {
  // Unique name per keyring: level-transcoder caches encodings, and two keyrings may share a process.
  const name = `jukigw-sealed-${inner}-${++instances}`;
  const toBytes = (v: unknown): Uint8Array => {
    if (inner === 'view') {
      if (!(v instanceof Uint8Array)) throw new TypeError('sealed view encoding expects a Uint8Array');
      return v;
    }
    if (inner === 'utf8') return Buffer.from(String(v), 'utf8');
    const json = JSON.stringify(v);
    if (json === undefined) throw new TypeError('sealed json encoding: value is not JSON-serialisable');
    return Buffer.from(json, 'utf8');
  };
  const fromBytes = (b: Uint8Array): unknown => {
    if (inner === 'view') return b;
    let text: string;
    try {
      text = utf8.decode(b);
    } catch {
      throw new SealedValueError('malformed', 'sealed value decrypted to invalid UTF-8');
    }
    return inner === 'utf8' ? text : JSON.parse(text);
  };
  return {
    name,
    format: 'view',
    encode: (v) => ring.seal(toBytes(v)),
    decode: (b) => fromBytes(ring.unseal(b)),
  };
}
