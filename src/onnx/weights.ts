// The llama weights as the ONNX graph wants them, read from a GGUF by byte range and dequantized to
// f32 (ggml-exact). Matrices come back row-major [out][in] (ggml's ne = [in, out]); Q and K rows are
// re-ordered from GGUF's interleaved-pair RoPE layout to Hugging Face's rotate_half layout.
//
// Why un-permute rather than build interleaved RoPE ops: the exported folder is then a LlamaForCausalLM
// exactly as HF's own export would make it (weights and K cache in HF layout), so other tools that
// read it (optimum, onnxruntime-genai, GroupQueryAttention rewrites with rotate_half) agree with it;
// rotate_half is also two Slices and a Concat, cheaper than a reshape-and-gather of pairs.
import { readTensorBytes } from '../formats/gguf-reader.ts';
import type { GgufFile, GgufTensorInfo } from '../formats/gguf-types.ts';
import type { RangeSource } from '../formats/range-source.ts';
import { canDequantize, dequantize } from '../quant/dequantize.ts';
import { UnsupportedExportError } from './errors.ts';

export interface Matrix {
  /** Output features (rows). */
  rows: number;
  /** Input features (columns). */
  cols: number;
  /** Row-major [rows][cols]. */
  data: Float32Array;
  /** The GGUF tensor's ggml type (for exact 4-bit repacking of Q4_0 sources). */
  ggmlType: number;
}

export interface WeightReader {
  vector(name: string): Promise<Float32Array>;
  matrix(name: string): Promise<Matrix>;
  has(name: string): boolean;
}

function find(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new UnsupportedExportError(`the GGUF has no tensor '${name}'`);
  if (!canDequantize(t.type)) throw new UnsupportedExportError(`tensor '${name}' has type ${t.typeName}, which cannot be dequantized`);
  return t;
}

export function ggufWeights(file: GgufFile, source: RangeSource): WeightReader {
  const load = async (t: GgufTensorInfo): Promise<Float32Array> => dequantize(t.type, await readTensorBytes(source, t), t.nElements);
  return {
    has: (name) => file.tensors.some((t) => t.name === name),
    async vector(name) {
      return load(find(file, name));
    },
    async matrix(name) {
      const t = find(file, name);
      const [cols, rows, ...rest] = t.shape;
      if (cols === undefined || rows === undefined || rest.some((d) => d !== 1)) {
        throw new UnsupportedExportError(`tensor '${name}' with shape [${t.shape}] is not a matrix`);
      }
      return { rows, cols, data: await load(t), ggmlType: t.type };
    },
  };
}

/**
 * GGUF → HF row order within each head: GGUF row 2j+h (pair j, half h) becomes HF row h*hd/2 + j.
 * The inverse of llama.cpp's convert permute; applied to Q with nHead and to K with nHeadKv.
 */
export function unpermuteHeads(m: Matrix, nHeads: number): Matrix {
  const hd = m.rows / nHeads;
  if (!Number.isInteger(hd) || hd % 2 !== 0) throw new UnsupportedExportError(`cannot split ${m.rows} rows into ${nHeads} heads of even size`);
  const out = new Float32Array(m.data.length);
  const half = hd / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < half; j++) {
      for (let s = 0; s < 2; s++) {
        const src = (h * hd + 2 * j + s) * m.cols;
        const dst = (h * hd + s * half + j) * m.cols;
        out.set(m.data.subarray(src, src + m.cols), dst);
      }
    }
  }
  return { ...m, data: out };
}

/** [rows][cols] → [cols][rows]: MatMul's B operand is [in, out]. */
export function transpose(m: Matrix): Float32Array {
  const out = new Float32Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) out[c * m.rows + r] = m.data[r * m.cols + c]!;
  }
  return out;
}
