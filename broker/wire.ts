// Guards on the MQTT packet parser of one connection. mqtt-packet decodes strings with replacement
// characters instead of refusing them, and buffers a packet of any announced length before aedes
// sees it; MQTT 3.1.1 requires closing the connection on ill-formed UTF-8 or U+0000 (MQTT-1.5.3-1/2),
// and an oversized packet must be refused before it is buffered.
import { isUtf8 } from 'node:buffer';

interface ParserInternals {
  packet: { length: number; cmd?: string };
  error: Error | null;
  _pos: number;
  _list: { length: number; readUInt16BE(offset: number): number; slice(start: number, end: number): Buffer };
  _parseLength(): boolean;
  _parseString(maybeBuffer?: boolean): string | null;
  _emitError(err: Error): void;
}

export class WireError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'payload-too-large',
  ) {
    super(message);
  }
}

/** Patches one connection's parser (aedes Client `_parser`). */
export function guardParser(parser: unknown, maxPacketBytes: number): void {
  const p = parser as ParserInternals;
  const parseLength = p._parseLength;
  const parseString = p._parseString;
  p._parseLength = function (this: ParserInternals) {
    const done = parseLength.call(this);
    if (done && this.packet.length > maxPacketBytes) {
      this._emitError(
        new WireError(
          `${this.packet.cmd ?? 'packet'} of ${this.packet.length} bytes exceeds the limit of ${maxPacketBytes}`,
          'payload-too-large',
        ),
      );
      return false;
    }
    return done;
  };
  p._parseString = function (this: ParserInternals, maybeBuffer?: boolean) {
    const start = this._pos + 2;
    const s = parseString.call(this, maybeBuffer);
    if (s !== null && this.error === null) {
      const bytes = this._list.slice(start, this._pos);
      if (!isUtf8(bytes)) this._emitError(new WireError('string field is not well-formed UTF-8', 'malformed'));
      else if (bytes.includes(0)) this._emitError(new WireError('string field contains U+0000', 'malformed'));
    }
    return s;
  };
}
