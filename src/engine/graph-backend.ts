// What the two CPU backends share around the one graph (graph.ts): the embedding lookup, the
// layer and head calls, forward, the per-layer KV caches. They differ only in how a matrix is held
// and multiplied (f32 arrays in the TypeScript reference, quantized blocks in WASM memory), which
// each supplies through embedRow, headTensors and the GraphModel members.
import type { Backend, LlamaConfig, MemoryReport } from './backend.ts';
import { EngineArgumentError } from './errors.ts';
import { runHead, runLayers, type GraphModel, type LayerTensors, type MatmulFn } from './graph.ts';
import { resolveKvLayout, type KvLayout, type KvOptions } from './kv/layout.ts';
import type { GgufFile } from '../formats/gguf-types.ts';
import { configFromGguf } from './config.ts';
import { chooseContext } from './context.ts';
import { sliceWeights, type WeightRef } from './weights.ts';
import { LayerKv } from './cpu/kv-cache.ts';
import { scaleInPlace } from './cpu/math.ts';

export interface SliceOptions {
  layers?: readonly [number, number];
  embed?: boolean;
  head?: boolean;
  nCtx?: number;
  kv?: KvOptions;
}

/** What a CPU backend holds: config at the chosen context, KV layout, layer range, and the tensors to load. */
export interface SliceSetup {
  cfg: LlamaConfig;
  contextReason: string;
  kvLayout: KvLayout;
  range: [number, number];
  hasEmbed: boolean;
  hasHead: boolean;
  refs: WeightRef[];
}

/** Resolve a slice before any bytes are read, so bad KV options or a bad range fail fast. */
export function resolveSlice(file: GgufFile, opts: SliceOptions): SliceSetup {
  const base = configFromGguf(file);
  const context = chooseContext(base, opts.nCtx, opts.kv);
  const cfg: LlamaConfig = { ...base, nCtx: context.nCtx };
  const kvLayout = resolveKvLayout(opts.kv, cfg);
  const [from, to] = opts.layers ?? [0, cfg.nLayer];
  const hasEmbed = opts.embed ?? from === 0;
  const hasHead = opts.head ?? to === cfg.nLayer;
  const refs = sliceWeights(file, cfg, { from, to, embed: hasEmbed, head: hasHead });
  return { cfg, contextReason: context.reason, kvLayout, range: [from, to], hasEmbed, hasHead, refs };
}

export interface HeadTensors<W> {
  norm: Float32Array;
  out: W;
  bias: Float32Array | undefined;
}

export abstract class GraphBackend<W> implements Backend, GraphModel<W> {
  readonly kind = 'cpu' as const;
  readonly config: LlamaConfig;
  readonly layerRange: readonly [number, number];
  /** The KV cache's resolved layout at the full context (mode, groups, window). */
  readonly kvLayout: KvLayout;
  abstract readonly ropeFactors: Float32Array | undefined;
  abstract readonly matmul: MatmulFn<W>;
  /** Why the context has its size (src/engine/context.ts), for load messages. */
  contextReason = '';
  /** Measuring only: llama.cpp's roundings (GraphModel.ggmlArith); the family oracle's replay sets it. */
  ggmlArith?: boolean;
  protected readonly hasEmbed: boolean;
  protected readonly hasHead: boolean;
  protected readonly layerT = new Map<number, LayerTensors<W>>();
  protected readonly kvs = new Map<number, LayerKv>();
  protected scratchBytes = 0;

  constructor(cfg: LlamaConfig, range: readonly [number, number], hasEmbed: boolean, hasHead: boolean, kvLayout: KvLayout) {
    this.config = cfg;
    this.layerRange = range;
    this.hasEmbed = hasEmbed;
    this.hasHead = hasHead;
    this.kvLayout = kvLayout;
    for (let l = range[0]; l < range[1]; l++) this.kvs.set(l, new LayerKv(kvLayout));
  }

  /** Throws when the backend was disposed. */
  protected abstract live(): void;
  /** Row `id` of token_embd into `out`, or false when this backend does not hold the embedding. */
  protected abstract embedRow(id: number, out: Float32Array): boolean;
  protected abstract headTensors(): HeadTensors<W> | undefined;
  abstract memory(): MemoryReport;
  abstract dispose(): void;

  kv(l: number): LayerKv {
    return this.kvs.get(l)!;
  }

  layer(l: number): LayerTensors<W> {
    return this.layerT.get(l)!;
  }

  embed(tokens: ArrayLike<number>): Promise<Float32Array> {
    try {
      this.live();
      const { nEmbd, nVocab } = this.config;
      const out = new Float32Array(tokens.length * nEmbd);
      for (let t = 0; t < tokens.length; t++) {
        const id = tokens[t]!;
        if (!Number.isInteger(id) || id < 0 || id >= nVocab) throw new EngineArgumentError(`token id ${id} outside 0..${nVocab - 1}`);
        if (!this.hasEmbed || !this.embedRow(id, out.subarray(t * nEmbd, (t + 1) * nEmbd))) throw new EngineArgumentError('this backend does not hold the embedding');
      }
      const scale = this.config.family.embedScale;
      if (scale !== 1) scaleInPlace(out, out.length, scale);
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  layers(hidden: Float32Array, nTok: number, pos: number, from: number, to: number): Promise<Float32Array> {
    try {
      this.live();
      const r = runLayers(this, hidden, nTok, pos, from, to);
      this.scratchBytes = Math.max(this.scratchBytes, r.scratchBytes);
      return Promise.resolve(r.x);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  head(hidden: Float32Array, nTok: number, all = false): Promise<Float32Array> {
    try {
      this.live();
      const h = this.hasHead ? this.headTensors() : undefined;
      if (!h) throw new EngineArgumentError('this backend does not hold the output head');
      return Promise.resolve(runHead(this.config, this.matmul, hidden, nTok, all, h.norm, h.out, h.bias));
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

  /** Benchmarks only: decode at position n without prefilling 0..n-1 (as GpuBackend.kvAssumeFilled). */
  kvAssumeFilled(n: number): void {
    for (const kv of this.kvs.values()) kv.assumeFilled(n);
  }

  protected kvBytes(): number {
    let kv = 0;
    for (const c of this.kvs.values()) kv += c.bytes();
    return kv;
  }
}
