// The CPU backend: the test oracle and the no-WebGPU fallback. Weights of the slice it holds are
// dequantized to f32 once at load (bit-exact with ggml's to_float); every op then runs in f32
// storage with float64 sums. The KV cache is kept in a mode of src/engine/kv (the same words and
// rules as the WebGPU backend's cache; 'f32' is exact, for reference comparisons). Browser-safe:
// it reads tensors through a RangeSource.
import { readTensorBytes } from '../../formats/gguf-reader.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import type { GgufFile } from '../../formats/gguf-types.ts';
import { canDequantize, dequantize } from '../../quant/dequantize.ts';
import type { Backend, LlamaConfig, MemoryReport } from '../backend.ts';
import { configFromGguf } from '../config.ts';
import { chooseContext } from '../context.ts';
import { EngineArgumentError, UnsupportedTensorTypeError } from '../errors.ts';
import { sliceWeights, type LayerRole, type WeightRef } from '../weights.ts';
import { MATRIX_ROLES, runHead, runLayers, type GraphModel, type LayerTensors, type MatmulFn } from '../graph.ts';
import { resolveKvLayout, type KvLayout, type KvOptions } from '../kv/layout.ts';
import { LayerKv } from './kv-cache.ts';
import { matmul, scaleInPlace } from './math.ts';

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

/** Split fused matrices by rows (rows are contiguous): views, no copy. */
function splitFused(lw: LayerW, cfg: LlamaConfig): void {
  const E = cfg.nEmbd;
  if (lw.attn_qkv) {
    const q = cfg.nHead * cfg.headDimK * E;
    const k = cfg.nHeadKv * cfg.headDimK * E;
    lw.attn_q = lw.attn_qkv.subarray(0, q);
    lw.attn_k = lw.attn_qkv.subarray(q, q + k);
    lw.attn_v = lw.attn_qkv.subarray(q + k);
  }
  if (cfg.family.fusedGateUp && lw.ffn_up && !lw.ffn_gate) {
    const both = lw.ffn_up;
    lw.ffn_gate = both.subarray(0, cfg.nFf * E);
    lw.ffn_up = both.subarray(cfg.nFf * E);
  }
}

async function loadF32(src: RangeSource, ref: WeightRef): Promise<Float32Array> {
  const t = ref.info;
  if (!canDequantize(t.type)) throw new UnsupportedTensorTypeError(t.name, t.typeName);
  return dequantize(t.type, await readTensorBytes(src, t), t.nElements);
}

export async function createCpuBackend(file: GgufFile, source: RangeSource, opts: CpuBackendOptions = {}): Promise<CpuBackend> {
  const base = configFromGguf(file);
  const context = chooseContext(base, opts.nCtx, opts.kv);
  const cfg: LlamaConfig = { ...base, nCtx: context.nCtx };
  // Resolve the KV options first: a bad mode, group or window fails before any bytes are read.
  const kvLayout = resolveKvLayout(opts.kv, cfg);
  const [from, to] = opts.layers ?? [0, cfg.nLayer];
  const hasEmbed = opts.embed ?? from === 0;
  const hasHead = opts.head ?? to === cfg.nLayer;
  const refs = sliceWeights(file, cfg, { from, to, embed: hasEmbed, head: hasHead });
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
  for (const lw of layerW.values()) splitFused(lw, cfg);
  const be = new CpuBackend(cfg, [from, to], hasEmbed, hasHead, global, layerW, kvLayout);
  be.contextReason = context.reason;
  return be;
}

/**
 * The TypeScript backend runs the one graph (src/engine/graph.ts) over f32 matrices with float64
 * sums: the oracle the other backends are compared with.
 */
export class CpuBackend implements Backend, GraphModel<Float32Array> {
  readonly kind = 'cpu' as const;
  readonly config: LlamaConfig;
  readonly layerRange: readonly [number, number];
  private readonly hasEmbed: boolean;
  private readonly hasHead: boolean;
  private readonly global: Map<string, Float32Array>;
  private readonly layerW: Map<number, LayerW>;
  private readonly layerT = new Map<number, LayerTensors<Float32Array>>();
  /** The KV cache's resolved layout at the full context (mode, groups, window). */
  readonly kvLayout: KvLayout;
  readonly ropeFactors: Float32Array | undefined;
  readonly matmul: MatmulFn<Float32Array> = matmul;
  private readonly kvs = new Map<number, LayerKv>();
  private scratchBytes = 0;
  private disposed = false;
  /** Why the context has its size (src/engine/context.ts), for load messages. */
  contextReason = '';

  constructor(cfg: LlamaConfig, range: [number, number], hasEmbed: boolean, hasHead: boolean,
    global: Map<string, Float32Array>, layerW: Map<number, LayerW>, kvLayout: KvLayout) {
    this.config = cfg;
    this.layerRange = range;
    this.hasEmbed = hasEmbed;
    this.hasHead = hasHead;
    this.global = global;
    this.layerW = layerW;
    this.kvLayout = kvLayout;
    this.ropeFactors = global.get('rope_factors');
    for (let l = range[0]; l < range[1]; l++) {
      this.kvs.set(l, new LayerKv(kvLayout));
      const lw = layerW.get(l)!;
      const mat = Object.fromEntries(MATRIX_ROLES.map((r) => [r, lw[r]!])) as Record<(typeof MATRIX_ROLES)[number], Float32Array>;
      this.layerT.set(l, { mat, vec: lw });
    }
  }

  private live(): void {
    if (this.disposed) throw new EngineArgumentError('backend was disposed');
  }

  kv(l: number): LayerKv {
    return this.kvs.get(l)!;
  }

  layer(l: number): LayerTensors<Float32Array> {
    return this.layerT.get(l)!;
  }

  embed(tokens: ArrayLike<number>): Promise<Float32Array> {
    this.live();
    const emb = this.global.get('token_embd');
    const scale = this.config.family.embedScale;
    if (!this.hasEmbed || !emb) return Promise.reject(new EngineArgumentError('this backend does not hold the embedding'));
    const { nEmbd, nVocab } = this.config;
    const out = new Float32Array(tokens.length * nEmbd);
    for (let t = 0; t < tokens.length; t++) {
      const id = tokens[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= nVocab) return Promise.reject(new EngineArgumentError(`token id ${id} outside 0..${nVocab - 1}`));
      out.set(emb.subarray(id * nEmbd, (id + 1) * nEmbd), t * nEmbd);
    }
    if (scale !== 1) scaleInPlace(out, out.length, scale);
    return Promise.resolve(out);
  }

  layers(hidden: Float32Array, nTok: number, pos: number, from: number, to: number): Promise<Float32Array> {
    try {
      this.live();
      const r = runLayers(this, hidden, nTok, pos, from, to);
      this.scratchBytes = r.scratchBytes;
      return Promise.resolve(r.x);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  head(hidden: Float32Array, nTok: number, all = false): Promise<Float32Array> {
    this.live();
    const c = this.config;
    const norm = this.global.get('output_norm');
    const out = this.global.get(c.tiedOutput ? 'token_embd' : 'output');
    if (!this.hasHead || !norm || !out) return Promise.reject(new EngineArgumentError('this backend does not hold the output head'));
    return Promise.resolve(runHead(c, this.matmul, hidden, nTok, all, norm, out, this.global.get('output.bias')));
  }

  async forward(tokens: ArrayLike<number>, pos: number, all = false): Promise<Float32Array> {
    if (!this.hasEmbed || !this.hasHead || this.layerRange[0] !== 0 || this.layerRange[1] !== this.config.nLayer) {
      throw new EngineArgumentError('forward() needs a backend holding the whole model');
    }
    const h0 = await this.embed(tokens);
    const h = await this.layers(h0, tokens.length, pos, 0, this.config.nLayer);
    return this.head(h, tokens.length, all);
  }

  truncate(pos: number): void {
    for (const kv of this.kvs.values()) kv.truncate(pos);
  }

  /** Benchmarks only: decode at position n without prefilling 0..n-1 (as GpuBackend.kvAssumeFilled). */
  kvAssumeFilled(n: number): void {
    for (const kv of this.kvs.values()) kv.assumeFilled(n);
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
    let kv = 0;
    for (const c of this.kvs.values()) kv += c.bytes();
    return { weights, kv, scratch: this.scratchBytes };
  }

  dispose(): void {
    this.disposed = true;
    this.global.clear();
    this.layerW.clear();
    this.layerT.clear();
    this.kvs.clear();
  }
}
