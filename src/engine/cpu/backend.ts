// The CPU backend: the test oracle and the no-WebGPU fallback. Weights of the slice it holds are
// dequantized to f32 once at load (bit-exact with ggml's to_float); every op then runs in f32
// storage with float64 sums. The KV cache is kept in a mode of src/engine/kv (the same words and
// rules as the WebGPU backend's cache; 'f32' is exact, for reference comparisons). Browser-safe:
// it reads tensors through a RangeSource.
import { readTensorBytes } from '../../formats/gguf-reader.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import type { GgufFile } from '../../formats/gguf-types.ts';
import { canDequantize, dequantize } from '../../quant/dequantize.ts';
import type { LlamaConfig, MemoryReport } from '../backend.ts';
import { EngineArgumentError, UnsupportedTensorTypeError } from '../errors.ts';
import { splitFused, type LayerRole, type WeightRef } from '../weights.ts';
import { MATRIX_ROLES, type MatmulFn } from '../graph.ts';
import { GraphBackend, resolveSlice, type HeadTensors } from '../graph-backend.ts';
import type { KvLayout, KvOptions } from '../kv/layout.ts';
import { matmul } from './math.ts';

export interface CpuBackendOptions {
  /** Layers to hold, [from, to); default all. */
  layers?: readonly [number, number];
  /** Hold the embedding; default: the range starts at layer 0. */
  embed?: boolean;
  /** Hold the output head; default: the range ends at the last layer. */
  head?: boolean;
  /** The context (KV memory grows with use, up to this); default: chooseContext (src/engine/context.ts). */
  nCtx?: number;
  /**
   * KV cache: mode (f32 | f16 | q8 | q4 | q3 | q2; default DEFAULT_KV_MODE, as on WebGPU), group and
   * window (src/engine/kv/layout.ts). 'f32' keeps the exact cache the oracle tests compare with.
   */
  kv?: KvOptions;
  signal?: AbortSignal;
  /** Bytes of tensor data read so far, of `total`. */
  onProgress?: (loaded: number, total: number) => void;
}

/** A layer's tensors by role; fused ones (attn_qkv, phi3's ffn_up) are split into their parts at load. */
type LayerW = Partial<Record<LayerRole, Float32Array>>;

async function loadF32(src: RangeSource, ref: WeightRef): Promise<Float32Array> {
  const t = ref.info;
  if (!canDequantize(t.type)) throw new UnsupportedTensorTypeError(t.name, t.typeName);
  return dequantize(t.type, await readTensorBytes(src, t), t.nElements);
}

export async function createCpuBackend(file: GgufFile, source: RangeSource, opts: CpuBackendOptions = {}): Promise<CpuBackend> {
  const { cfg, contextReason, kvLayout, range, hasEmbed, hasHead, refs } = resolveSlice(file, opts);
  // Check every type before reading any bytes, so an unsupported model fails fast.
  for (const r of refs) if (!canDequantize(r.info.type)) throw new UnsupportedTensorTypeError(r.name, r.info.typeName);

  const total = refs.reduce((s, r) => s + r.info.byteSize, 0);
  let loaded = 0;
  const global = new Map<string, Float32Array>();
  const layerW = new Map<number, Partial<LayerW>>();

  for (const r of refs) {
    opts.signal?.throwIfAborted();
    const data = await loadF32(source, r);
    if (r.layer === undefined) global.set(r.role.startsWith('rope_f') ? 'rope_factors' : r.role, data);
    else {
      const lw = layerW.get(r.layer) ?? {};
      lw[r.role as LayerRole] = data;
      layerW.set(r.layer, lw);
    }
    loaded += r.info.byteSize;
    opts.onProgress?.(loaded, total);
  }
  opts.signal?.throwIfAborted();
  // Fused matrices are split into row views (inputs are n_embd wide).
  for (const lw of layerW.values()) splitFused(lw, cfg, (m, r0, r1) => m.subarray(r0 * cfg.nEmbd, r1 * cfg.nEmbd));
  const be = new CpuBackend(cfg, range, hasEmbed, hasHead, global, layerW, kvLayout);
  be.contextReason = contextReason;
  return be;
}

/**
 * The TypeScript backend runs the one graph (src/engine/graph.ts) over f32 matrices with float64
 * sums: the oracle the other backends are compared with.
 */
export class CpuBackend extends GraphBackend<Float32Array> {
  private readonly global: Map<string, Float32Array>;
  private readonly layerW: Map<number, LayerW>;
  readonly ropeFactors: Float32Array | undefined;
  readonly matmul: MatmulFn<Float32Array> = matmul;
  private disposed = false;

  constructor(cfg: LlamaConfig, range: [number, number], hasEmbed: boolean, hasHead: boolean,
    global: Map<string, Float32Array>, layerW: Map<number, LayerW>, kvLayout: KvLayout) {
    super(cfg, range, hasEmbed, hasHead, kvLayout);
    this.global = global;
    this.layerW = layerW;
    this.ropeFactors = global.get('rope_factors');
    for (let l = range[0]; l < range[1]; l++) {
      const lw = layerW.get(l)!;
      const mat = Object.fromEntries(MATRIX_ROLES.map((r) => [r, lw[r]!])) as Record<(typeof MATRIX_ROLES)[number], Float32Array>;
      this.layerT.set(l, { mat, vec: lw });
    }
  }

  protected live(): void {
    if (this.disposed) throw new EngineArgumentError('backend was disposed');
  }

  protected embedRow(id: number, out: Float32Array): boolean {
    const emb = this.global.get('token_embd');
    if (!emb) return false;
    out.set(emb.subarray(id * out.length, (id + 1) * out.length));
    return true;
  }

  protected headTensors(): HeadTensors<Float32Array> | undefined {
    const norm = this.global.get('output_norm');
    const out = this.global.get(this.config.tiedOutput ? 'token_embd' : 'output');
    return norm && out ? { norm, out, bias: this.global.get('output.bias') } : undefined;
  }

  memory(): MemoryReport {
    let weights = 0;
    for (const a of this.global.values()) weights += a.byteLength;
    // Fused tensors' parts are views: count each backing buffer once.
    const seen = new Set<ArrayBufferLike>();
    for (const lw of this.layerW.values()) {
      for (const a of Object.values(lw)) {
        if (a && !seen.has(a.buffer)) {
          seen.add(a.buffer);
          weights += a.buffer.byteLength;
        }
      }
    }
    return { weights, kv: this.kvBytes(), scratch: this.scratchBytes };
  }

  dispose(): void {
    this.disposed = true;
    this.global.clear();
    this.layerW.clear();
    this.layerT.clear();
    this.kvs.clear();
  }
}
