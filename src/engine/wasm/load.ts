// Loading a slice's weights into WASM memory, tensor by tensor from the RangeSource: matrices stay
// in their GGUF blocks (one tensor's bytes in flight at a time: no whole-file buffer, no f32 copy);
// vectors (norms, biases, RoPE factors) are dequantized to f32 in JS, as they are tiny. A matrix
// of a type without a WASM kernel (Q4_1, Q5_0, Q5_1, BF16) is dequantized to F32 and kept so,
// which is correct but costs its f32 size; the load reports which tensors that happened to.
import { readTensorBytes } from '../../formats/gguf-reader.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import { canDequantize, dequantize } from '../../quant/dequantize.ts';
import { GgmlType, ggmlType } from '../../quant/ggml-types.ts';
import type { LlamaConfig } from '../backend.ts';
import { UnsupportedTensorTypeError } from '../errors.ts';
import type { WeightRef } from '../weights.ts';
import { WasmMemoryLimitError } from './errors.ts';
import { hasWasmKernel, WASM_MAX_BYTES, type WasmMatrix, type WasmRuntime } from './runtime.ts';

/** Bytes kept free above the weights for per-call scratch (activations in, results out). */
export const SCRATCH_RESERVE = 64 * 2 ** 20;

export interface LoadedWeights {
  /** Matrices by name (token_embd, output, blk.N.<role>), quantized in WASM memory. */
  mats: Map<string, WasmMatrix>;
  /** Vectors by name, f32 in JS. */
  vecs: Map<string, Float32Array>;
  /** Tensors kept as F32 because their type has no kernel. */
  widened: string[];
  /** Bytes of the tensors as the file stores them, and as this backend holds them. */
  fileBytes: number;
  heldBytes: number;
}

function isMatrix(r: WeightRef): boolean {
  return r.info.shape.filter((d) => d > 1).length === 2 || r.role === 'token_embd' || r.role === 'output';
}

/** What a tensor will occupy in WASM memory (64-byte aligned), or 0 for a JS vector. */
function heldSize(r: WeightRef): number {
  if (!isMatrix(r)) return 0;
  const bytes = hasWasmKernel(r.info.type) ? r.info.byteSize : 4 * r.info.nElements;
  return Math.ceil(bytes / 64) * 64;
}

/** Refuses, before any bytes are read, a slice whose weights cannot fit one wasm32 memory. */
export function checkFits(refs: readonly WeightRef[], heapBase: number): void {
  for (const r of refs) if (!canDequantize(r.info.type)) throw new UnsupportedTensorTypeError(r.name, r.info.typeName);
  const need = heapBase + refs.reduce((s, r) => s + heldSize(r), 0) + SCRATCH_RESERVE;
  if (need > WASM_MAX_BYTES) throw new WasmMemoryLimitError(need, WASM_MAX_BYTES);
}

export async function loadWeights(rt: WasmRuntime, src: RangeSource, refs: readonly WeightRef[],
  opts: { signal?: AbortSignal; onProgress?: (loaded: number, total: number) => void } = {}): Promise<LoadedWeights> {
  const out: LoadedWeights = { mats: new Map(), vecs: new Map(), widened: [], fileBytes: 0, heldBytes: 0 };
  const total = refs.reduce((s, r) => s + r.info.byteSize, 0);
  for (const r of refs) {
    opts.signal?.throwIfAborted();
    const t = r.info;
    const bytes = await readTensorBytes(src, t);
    out.fileBytes += t.byteSize;
    if (isMatrix(r)) {
      const [cols, rows] = t.shape as [number, number];
      let type = t.type;
      let data = bytes;
      if (!hasWasmKernel(type)) {
        data = new Uint8Array(dequantize(type, bytes, t.nElements).buffer);
        type = GgmlType.F32;
        out.widened.push(`${r.name} (${t.typeName})`);
      }
      const info = ggmlType(type);
      const ptr = rt.place(data);
      out.heldBytes += data.length;
      out.mats.set(r.name, { ptr, type, rows, cols, rowBytes: (cols / info.blockSize) * info.bytesPerBlock });
    } else {
      const v = dequantize(t.type, bytes, t.nElements);
      out.heldBytes += v.byteLength;
      out.vecs.set(r.name, v);
    }
    opts.onProgress?.(out.fileBytes, total);
  }
  return out;
}

/** Fused matrices split by rows (views into the same blocks): phi3's attn_qkv and gate+up ffn_up. */
