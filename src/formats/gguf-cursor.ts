// A bounds-checked little-endian reader over a prefix of a GGUF file. The prefix may be shorter than
// the file: reading past it throws NeedMoreBytes (the async reader then fetches more and starts over);
// reading past the end of the file throws GgufFormatError. Nothing here can read out of bounds.
import { GgufFormatError } from './errors.ts';

/** Internal signal: the parse needs the file's first `required` bytes. Never escapes the reader. */
export class NeedMoreBytes extends Error {
  override name = 'NeedMoreBytes';
  readonly required: number;
  constructor(required: number) {
    super(`need ${required} bytes of header`);
    this.required = required;
  }
}

// ignoreBOM: keep a leading U+FEFF; vocabularies hold tokens like "\uFEFF#" that must not collapse into "#".
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export class GgufCursor {
  readonly bytes: Uint8Array;
  readonly fileSize: number;
  pos = 0;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, fileSize: number) {
    this.bytes = bytes;
    this.fileSize = fileSize;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes left in the file (not just the prefix) after the current position. */
  remaining(): number {
    return this.fileSize - this.pos;
  }

  /** Ensures `n` more bytes are readable; `what` names the field for the error message. */
  need(n: number, what: string): void {
    const end = this.pos + n;
    if (end > this.fileSize) {
      throw new GgufFormatError(`truncated: ${what} needs ${n} bytes but the file ends at ${this.fileSize}`, this.pos);
    }
    if (end > this.bytes.length) throw new NeedMoreBytes(end);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 that is a size, count or offset: must fit in a JS number exactly. */
  size64(what: string): number {
    const at = this.pos;
    this.need(8, what);
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    this.pos += 8;
    if (hi > 0x1fffff) throw new GgufFormatError(`${what} ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds 2^53-1`, at);
    return hi * 0x100000000 + lo;
  }

  /** A length-prefixed (u64) UTF-8 string. The length is checked against the file before any allocation. */
  string(what: string): string {
    const at = this.pos;
    const len = this.size64(`${what} length`);
    if (len > this.remaining()) {
      throw new GgufFormatError(`${what} length ${len} exceeds the ${this.remaining()} bytes left in the file`, at);
    }
    this.need(len, what);
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  dataView(): DataView {
    return this.view;
  }
}
