// Weight bytes for benchmarks at real-model sizes without quantizing gigabytes on the CPU: a few
// rows per (type, row length, std) are quantized once with the repo's quantizers (real ggml blocks:
// finite scales, the value distribution of real weights), and a tensor's rows are that template's
// rows in turn, starting at a per-tensor offset. The GPU still reads every byte at its own address,
// so bandwidth is what a real file gives; only the values repeat.
import { ggmlType } from '../../src/quant/ggml-types.ts';
import { canQuantize, quantize } from '../../src/quant/quantize.ts';
import { normals, randomBytes, rng } from '../../src/util/random.ts';

/** Rows per template: enough variety for a benchmark, cheap to quantize (K-quants ~1 µs/weight). */
export const TEMPLATE_ROWS = 16;

export interface TemplateKey {
  type: number;
  cols: number;
  std: number;
}

export function rowBytesOf(type: number, cols: number): number {
  const t = ggmlType(type);
  if (cols % t.blockSize !== 0) throw new RangeError(`${t.name} rows must be whole blocks of ${t.blockSize}; got ${cols}`);
  return (cols / t.blockSize) * t.bytesPerBlock;
}

/** Caches quantized templates; one per benchmark run. */
export class TemplateBank {
  private readonly bank = new Map<string, Uint8Array>();
  /** Types that had no quantizer and got random blocks instead (named in the results). */
  readonly randomTypes = new Set<string>();

  private readonly seed: number;

  constructor(seed: number) {
    this.seed = seed;
  }

  template(k: TemplateKey): Uint8Array {
    const id = `${k.type}/${k.cols}/${k.std}`;
    let t = this.bank.get(id);
    if (!t) {
      const next = rng(this.seed ^ (this.bank.size * 0x9e3779b1));
      const n = TEMPLATE_ROWS * k.cols;
      if (k.type === 0) t = new Uint8Array(normals(n, next, k.std).buffer);
      else if (canQuantize(k.type)) t = quantize(k.type, normals(n, next, k.std));
      else {
        // No quantizer for this type (yet): random bits. Scales may be wild; speed is unaffected.
        this.randomTypes.add(ggmlType(k.type).name);
        t = randomBytes(TEMPLATE_ROWS * rowBytesOf(k.type, k.cols), next);
      }
      this.bank.set(id, t);
    }
    return t;
  }

  /**
   * Bytes [offset, offset + length) of a `rows` x `cols` tensor of `k.type` whose row r is template
   * row (r + salt) mod TEMPLATE_ROWS, written into `out` at `at`.
   */
  fill(k: TemplateKey, salt: number, offset: number, length: number, out: Uint8Array, at: number): void {
    const t = this.template(k);
    const rb = rowBytesOf(k.type, k.cols);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const row = Math.floor(pos / rb);
      const inRow = pos - row * rb;
      const tRow = (row + salt) % TEMPLATE_ROWS;
      // Copy up to the template's end in one go: consecutive rows are consecutive template rows.
      const src = tRow * rb + inRow;
      const n = Math.min(length - done, t.length - src);
      out.set(t.subarray(src, src + n), at + done);
      done += n;
    }
  }

  /** A whole tensor (tests, small matvec inputs). */
  tensor(k: TemplateKey, rows: number, salt = 0): Uint8Array {
    const out = new Uint8Array(rows * rowBytesOf(k.type, k.cols));
    this.fill(k, salt, 0, out.length, out, 0);
    return out;
  }
}
