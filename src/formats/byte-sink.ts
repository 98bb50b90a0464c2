// A growable little-endian byte buffer for the GGUF writer.
import { GgufWriteError } from './errors.ts';
import { GgufValueType } from './gguf-types.ts';

type Setter = (view: DataView, at: number, v: number) => void;

/** Per numeric value type: byte size, integer range (none for floats), and the DataView setter. */
const NUMERIC: Partial<Record<GgufValueType, readonly [number, number | undefined, number | undefined, Setter]>> = {
  [GgufValueType.U8]: [1, 0, 0xff, (d, a, v) => d.setUint8(a, v)],
  [GgufValueType.I8]: [1, -0x80, 0x7f, (d, a, v) => d.setInt8(a, v)],
  [GgufValueType.U16]: [2, 0, 0xffff, (d, a, v) => d.setUint16(a, v, true)],
  [GgufValueType.I16]: [2, -0x8000, 0x7fff, (d, a, v) => d.setInt16(a, v, true)],
  [GgufValueType.U32]: [4, 0, 0xffffffff, (d, a, v) => d.setUint32(a, v, true)],
  [GgufValueType.I32]: [4, -0x80000000, 0x7fffffff, (d, a, v) => d.setInt32(a, v, true)],
  [GgufValueType.F32]: [4, undefined, undefined, (d, a, v) => d.setFloat32(a, v, true)],
  [GgufValueType.F64]: [8, undefined, undefined, (d, a, v) => d.setFloat64(a, v, true)],
};

export class ByteSink {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < at + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length += n;
    return at;
  }

  // Note: always reserve before touching this.view, since reserve() may replace the buffer.
  u8(v: number): void { const at = this.reserve(1); this.view.setUint8(at, v); }
  u32(v: number): void { const at = this.reserve(4); this.view.setUint32(at, v, true); }

  /** An unsigned size/count/offset (a safe integer). */
  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new GgufWriteError(`not a u64 size: ${v}`);
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }

  big64(type: GgufValueType, v: bigint): void {
    const at = this.reserve(8);
    if (type === GgufValueType.U64) {
      if (v < 0n || v > 0xffffffffffffffffn) throw new GgufWriteError(`u64 out of range: ${v}`);
      this.view.setBigUint64(at, v, true);
    } else {
      if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new GgufWriteError(`i64 out of range: ${v}`);
      this.view.setBigInt64(at, v, true);
    }
  }

  /** Fixed-size numeric metadata values; integers are range-checked so nothing wraps silently. */
  num(type: GgufValueType, v: number): void {
    const spec = NUMERIC[type];
    if (!spec) throw new GgufWriteError(`type ${type} is not a fixed-size number`);
    const [size, lo, hi, set] = spec;
    if (lo !== undefined && (!Number.isInteger(v) || v < lo || v > hi!)) {
      throw new GgufWriteError(`value ${v} out of range for type ${type}`);
    }
    const at = this.reserve(size);
    set(this.view, at, v);
  }

  bytes(b: Uint8Array): void { const at = this.reserve(b.length); this.buf.set(b, at); }
  zeros(n: number): void { const at = this.reserve(n); this.buf.fill(0, at, this.length); }

  finish(): Uint8Array { return this.buf.slice(0, this.length); }
}
