// The WASM CPU backend: what users without WebGPU get. Weights stay quantized in WASM memory (within
// a few bytes of the file's tensor bytes; see load.ts) and every matrix product runs in the WASM
// SIMD128 kernels; the graph is src/engine/graph.ts, whose small ops (norms, RoPE, attention over
// the compressed KV cache, activations) are the TypeScript backend's own functions. The TypeScript
// backend (src/engine/cpu) stays as the exact `reference` that tests compare this with.
import type { GgufFile } from '../../formats/gguf-types.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import { dequantize } from '../../quant/dequantize.ts';
import type { Backend, LlamaConfig, MemoryReport } from '../backend.ts';
import { configFromGguf } from '../config.ts';
import { chooseContext } from '../context.ts';
import { EngineArgumentError } from '../errors.ts';
import { MATRIX_ROLES, runHead, runLayers, type GraphModel, type LayerTensors, type MatmulFn } from '../graph.ts';
import { layerTensorName, layerRoles, sliceWeights, type LayerRole } from '../weights.ts';
import { resolveKvLayout, type KvLayout } from '../kv/layout.ts';
import { LayerKv } from '../cpu/kv-cache.ts';
import { scaleInPlace } from '../cpu/math.ts';
import type { CpuBackendOptions } from '../cpu/backend.ts';
import { checkFits, loadWeights, splitFused, type LoadedWeights } from './load.ts';
import { WasmRuntime, type WasmMatrix } from './runtime.ts';

/** How the CPU path computes, for load messages and the capability report. */
export const WASM_CPU_PATH = 'WASM SIMD128, 1 thread';

export type WasmBackendOptions = CpuBackendOptions;

export async function createWasmBackend(file: GgufFile, source: RangeSource, opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const base = configFromGguf(file);
  const context = chooseContext(base, opts.nCtx, opts.kv);
  const cfg: LlamaConfig = { ...base, nCtx: context.nCtx };
  const kvLayout = resolveKvLayout(opts.kv, cfg);
  const [from, to] = opts.layers ?? [0, cfg.nLayer];
  const hasEmbed = opts.embed ?? from === 0;
  const hasHead = opts.head ?? to === cfg.nLayer;
  const refs = sliceWeights(file, cfg, { from, to, embed: hasEmbed, head: hasHead });
  const rt = await WasmRuntime.create();
  // Types and the 4 GiB ceiling are checked before any bytes are read, so a model fails fast.
  checkFits(refs, rt.weightsEnd);
  const w = await loadWeights(rt, source, refs, { signal: opts.signal, onProgress: opts.onProgress });
  opts.signal?.throwIfAborted();
  const be = new WasmBackend(cfg, [from, to], hasEmbed, hasHead, rt, w, kvLayout);
  be.contextReason = context.reason;
  return be;
}

export class WasmBackend implements Backend, GraphModel<WasmMatrix> {
  readonly kind = 'cpu' as const;
  /** Which CPU path this is (the TypeScript reference has none). */
  readonly cpuPath = WASM_CPU_PATH;
  readonly config: LlamaConfig;
  readonly layerRange: readonly [number, number];
  readonly kvLayout: KvLayout;
  readonly ropeFactors: Float32Array | undefined;
  readonly matmul: MatmulFn<WasmMatrix>;
  /** Tensors held as F32 because their type has no WASM kernel. */
  readonly widened: readonly string[];
  contextReason = '';
  private readonly hasEmbed: boolean;
  private readonly hasHead: boolean;
  private rt: WasmRuntime | undefined;
  private readonly w: LoadedWeights;
  private readonly layerT = new Map<number, LayerTensors<WasmMatrix>>();
  private readonly kvs = new Map<number, LayerKv>();
  private scratchBytes = 0;

  constructor(cfg: LlamaConfig, range: [number, number], hasEmbed: boolean, hasHead: boolean, rt: WasmRuntime, w: LoadedWeights, kvLayout: KvLayout) {
    this.config = cfg;
    this.layerRange = range;
    this.hasEmbed = hasEmbed;
    this.hasHead = hasHead;
    this.rt = rt;
    this.w = w;
    this.kvLayout = kvLayout;
    this.widened = w.widened;
    this.ropeFactors = [...w.vecs].find(([n]) => n.startsWith('rope_f'))?.[1];
    this.matmul = (y, x, m, nTok, nIn, nOut) => this.runtime().matmul(y, x, m, nTok, nIn, nOut);
    for (let l = range[0]; l < range[1]; l++) {
      const mats: Partial<Record<string, WasmMatrix>> = {};
      const vec: Partial<Record<LayerRole, Float32Array>> = {};
      for (const role of layerRoles(cfg)) {
        const name = layerTensorName(l, role);
        const m = w.mats.get(name);
        if (m) mats[role] = m;
        else vec[role] = w.vecs.get(name);
      }
      splitFused(mats, cfg);
      const mat = Object.fromEntries(MATRIX_ROLES.map((r) => [r, mats[r]!])) as LayerTensors<WasmMatrix>['mat'];
      this.layerT.set(l, { mat, vec });
      this.kvs.set(l, new LayerKv(kvLayout));
    }
  }

  private runtime(): WasmRuntime {
    if (!this.rt) throw new EngineArgumentError('backend was disposed');
    return this.rt;
  }

  kv(l: number): LayerKv {
    return this.kvs.get(l)!;
  }

  layer(l: number): LayerTensors<WasmMatrix> {
    return this.layerT.get(l)!;
  }

  embed(tokens: ArrayLike<number>): Promise<Float32Array> {
    const rt = this.runtime();
    const emb = this.w.mats.get('token_embd.weight');
    if (!this.hasEmbed || !emb) return Promise.reject(new EngineArgumentError('this backend does not hold the embedding'));
    const { nEmbd, nVocab } = this.config;
    const out = new Float32Array(tokens.length * nEmbd);
    for (let t = 0; t < tokens.length; t++) {
      const id = tokens[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= nVocab) return Promise.reject(new EngineArgumentError(`token id ${id} outside 0..${nVocab - 1}`));
      // One row, dequantized by the reference's own dequantizer straight from WASM memory.
      dequantize(emb.type, rt.bytes(emb.ptr + id * emb.rowBytes, emb.rowBytes), nEmbd, out.subarray(t * nEmbd));
    }
    const scale = this.config.family.embedScale;
    if (scale !== 1) scaleInPlace(out, out.length, scale);
    return Promise.resolve(out);
  }

  layers(hidden: Float32Array, nTok: number, pos: number, from: number, to: number): Promise<Float32Array> {
    try {
      this.runtime();
      const r = runLayers(this, hidden, nTok, pos, from, to);
      this.scratchBytes = Math.max(this.scratchBytes, r.scratchBytes);
      return Promise.resolve(r.x);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  head(hidden: Float32Array, nTok: number, all = false): Promise<Float32Array> {
    try {
      this.runtime();
      const c = this.config;
      const norm = this.w.vecs.get('output_norm.weight');
      const out = this.w.mats.get(c.tiedOutput ? 'token_embd.weight' : 'output.weight');
      if (!this.hasHead || !norm || !out) throw new EngineArgumentError('this backend does not hold the output head');
      return Promise.resolve(runHead(c, this.matmul, hidden, nTok, all, norm, out, this.w.vecs.get('output.bias')));
    } catch (err) {
      return Promise.reject(err);
    }
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

  /** Benchmarks only: decode at position n without prefilling 0..n-1. */
  kvAssumeFilled(n: number): void {
    for (const kv of this.kvs.values()) kv.assumeFilled(n);
  }

  /** weights: tensor bytes as held (quantized matrices in WASM memory + f32 vectors); scratch: the rest of the WASM memory + JS scratch. */
  memory(): MemoryReport {
    let kv = 0;
    for (const c of this.kvs.values()) kv += c.bytes();
    const wasm = this.rt ? this.rt.memory.buffer.byteLength : 0;
    const inWasm = this.rt ? this.rt.weightsEnd : 0;
    return { weights: this.w.heldBytes, kv, scratch: Math.max(0, wasm - inWasm) + this.scratchBytes };
  }

  /** Bytes of the slice's tensors as the file stores them (what memory().weights is compared with). */
  get fileBytes(): number {
    return this.w.fileBytes;
  }

  dispose(): void {
    this.rt = undefined;
    this.w.mats.clear();
    this.w.vecs.clear();
    this.kvs.clear();
  }
}
