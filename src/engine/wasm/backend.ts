// The WASM CPU backend: what users without WebGPU get. Weights stay quantized in WASM memory (within
// a few bytes of the file's tensor bytes; see load.ts) and every matrix product runs in the WASM
// SIMD128 kernels; the graph is src/engine/graph.ts, run with this backend's WASM attention over the
// compressed KV cache (c/attention.c, split between the threads) and element-wise ops (c/ops.c:
// RMSNorm, RoPE, SwiGLU, GELU). Residual adds, biases and the Hadamard rotation of the quantized
// KV modes stay the TypeScript backend's functions (a few per cent of a token, profiled). The
// TypeScript backend (src/engine/cpu) stays as the exact `reference` that tests compare this with.
import type { GgufFile } from '../../formats/gguf-types.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import { dequantize } from '../../quant/dequantize.ts';
import type { LlamaConfig, MemoryReport } from '../backend.ts';
import { EngineArgumentError } from '../errors.ts';
import { MATRIX_ROLES, type GraphModel, type LayerTensors, type MatmulFn, type SmallOps } from '../graph.ts';
import { GraphBackend, resolveSlice, type HeadTensors } from '../graph-backend.ts';
import { layerTensorName, layerRoles, splitFused, type LayerRole } from '../weights.ts';
import type { KvLayout } from '../kv/layout.ts';
import type { CpuBackendOptions } from '../cpu/backend.ts';
import { checkFits, loadWeights, type LoadedWeights } from './load.ts';
import { matrixRows, WasmRuntime, type WasmMatrix } from './runtime.ts';
import { resolveThreads, wasmCpuPath } from './threads.ts';

/**
 * The CPU path a backend created here with default options runs (its thread count included), for
 * load messages written before the backend exists; a backend's own `cpuPath` is the one it runs.
 */
export const WASM_CPU_PATH = wasmCpuPath(resolveThreads());

export interface WasmBackendOptions extends CpuBackendOptions {
  /** Worker threads per matmul, the caller's included (default: the cores, capped; see threads.ts). */
  threads?: number;
}

export async function createWasmBackend(file: GgufFile, source: RangeSource, opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const { cfg, contextReason, kvLayout, range, hasEmbed, hasHead, refs } = resolveSlice(file, opts);
  const rt = await WasmRuntime.create({ threads: opts.threads });
  try {
    // Types and the 4 GiB ceiling are checked before any bytes are read, so a model fails fast.
    checkFits(refs, rt.weightsEnd);
    const w = await loadWeights(rt, source, refs, { signal: opts.signal, onProgress: opts.onProgress });
    opts.signal?.throwIfAborted();
    const be = new WasmBackend(cfg, range, hasEmbed, hasHead, rt, w, kvLayout);
    be.contextReason = contextReason;
    return be;
  } catch (err) {
    rt.close(); // no worker threads left behind by a refused or aborted load
    throw err;
  }
}

export class WasmBackend extends GraphBackend<WasmMatrix> {
  /** Which CPU path this is, with its real thread count (the TypeScript reference has none). */
  readonly cpuPath: string;
  readonly ropeFactors: Float32Array | undefined;
  readonly matmul: MatmulFn<WasmMatrix>;
  /** Attention over the KV cache in WASM (c/attention.c), split between the threads like a matmul. */
  readonly attention: NonNullable<GraphModel<WasmMatrix>['attention']>;
  /** RMSNorm, RoPE and the gated activations in WASM (c/ops.c). */
  readonly ops: SmallOps;
  /** Tensors held as F32 because their type has no WASM kernel. */
  readonly widened: readonly string[];
  private rt: WasmRuntime | undefined;
  private readonly w: LoadedWeights;

  constructor(cfg: LlamaConfig, range: [number, number], hasEmbed: boolean, hasHead: boolean, rt: WasmRuntime, w: LoadedWeights, kvLayout: KvLayout) {
    super(cfg, range, hasEmbed, hasHead, kvLayout);
    this.rt = rt;
    this.cpuPath = wasmCpuPath(rt.threads);
    this.w = w;
    this.widened = w.widened;
    this.ropeFactors = [...w.vecs].find(([n]) => n.startsWith('rope_f'))?.[1];
    this.matmul = (y, x, m, nTok, nIn, nOut) => this.runtime().matmul(y, x, m, nTok, nIn, nOut);
    this.attention = (out, cache, q, k, v, nTok, pos0, sh, _scores, o = {}) => this.runtime().attention(out, cache, q, k, v, nTok, pos0, sh, o);
    this.ops = {
      rmsnorm: (out, x, wt, nTok, n, eps) => this.runtime().rmsnorm(out, x, wt, nTok, n, eps),
      rope: (x, nTok, nHeads, headDim, table, neox) => this.runtime().rope(x, nTok, nHeads, headDim, table, neox),
      swiglu: (g, u, n) => this.runtime().gated('silu', g, u, n),
      geglu: (g, u, n) => this.runtime().gated('gelu', g, u, n),
    };
    for (let l = range[0]; l < range[1]; l++) {
      const mats: Partial<Record<string, WasmMatrix>> = {};
      const vec: Partial<Record<LayerRole, Float32Array>> = {};
      for (const role of layerRoles(cfg)) {
        const name = layerTensorName(l, role);
        const m = w.mats.get(name);
        if (m) mats[role] = m;
        else vec[role] = w.vecs.get(name);
      }
      splitFused(mats, cfg, matrixRows);
      const mat = Object.fromEntries(MATRIX_ROLES.map((r) => [r, mats[r]!])) as LayerTensors<WasmMatrix>['mat'];
      this.layerT.set(l, { mat, vec });
    }
  }

  private runtime(): WasmRuntime {
    if (!this.rt) throw new EngineArgumentError('backend was disposed');
    return this.rt;
  }

  protected live(): void {
    this.runtime();
  }

  protected embedRow(id: number, out: Float32Array): boolean {
    const emb = this.w.mats.get('token_embd.weight');
    if (!emb) return false;
    // One row, dequantized by the reference's own dequantizer straight from WASM memory.
    dequantize(emb.type, this.runtime().bytes(emb.ptr + id * emb.rowBytes, emb.rowBytes), out.length, out);
    return true;
  }

  protected headTensors(): HeadTensors<WasmMatrix> | undefined {
    const norm = this.w.vecs.get('output_norm.weight');
    const out = this.w.mats.get(this.config.tiedOutput ? 'token_embd.weight' : 'output.weight');
    return norm && out ? { norm, out, bias: this.w.vecs.get('output.bias') } : undefined;
  }

  /** weights: tensor bytes as held (quantized matrices in WASM memory + f32 vectors); scratch: the rest of the WASM memory + JS scratch. */
  memory(): MemoryReport {
    const kv = this.kvBytes();
    const wasm = this.rt ? this.rt.memory.buffer.byteLength : 0;
    const inWasm = this.rt ? this.rt.weightsEnd : 0;
    return { weights: this.w.heldBytes, kv, scratch: Math.max(0, wasm - inWasm) + this.scratchBytes };
  }

  /** Bytes of the slice's tensors as the file stores them (what memory().weights is compared with). */
  get fileBytes(): number {
    return this.w.fileBytes;
  }

  dispose(): void {
    this.rt?.close();
    this.rt = undefined;
    this.w.mats.clear();
    this.w.vecs.clear();
    this.kvs.clear();
  }
}
