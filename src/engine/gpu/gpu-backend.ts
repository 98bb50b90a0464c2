// The WebGPU backend: the llama graph as WGSL dispatches over weights kept quantized on the GPU,
// with a KV cache on the GPU in one of the modes of src/engine/kv (f32, f16, q8/q4/q3/q2). One forward call encodes every dispatch into one compute pass
// and one submit; the only readback is the logits (or hidden states at a slice boundary).
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { DispatchFrame, type FramedRuntime, type PreparedDispatch } from '../../gpu/dispatch.ts';
import { swiftShader, prepareGetRows, prepareMatmulQ, prepareMatvecQ } from '../../gpu/kernels/matmul-q.ts';
import type { QuantTensor } from '../../gpu/kernels/quant-tensor.ts';
import type { Backend, LlamaConfig, MemoryReport } from '../backend.ts';
import { add, addBias, geluMul, rmsnorm, rmsnormInPlace, rope, ropeTable, scale, siluMul, softcap } from './ops.ts';
import { layerWindow, ropeParams } from '../family.ts';
import { prepareHeadPrep } from './head-prep.ts';
import { resolveKvLayout, type KvLayout, type KvOptions } from '../kv/layout.ts';
import { GpuKvCache } from '../kv/gpu-cache.ts';
import { prepareKvAttention, prepareRotate } from '../kv/gpu-kv.ts';
import { weightBuffers, type LayerWeights, type ModelWeights } from './weights.ts';
import { prepareFusedMatvec, prepareRoutedMatmul, type FusedMatvecOptions } from './fused.ts';
import { ContextOverflowError } from '../errors.ts';

/**
 * The work of one forward() call, from the backend's own bookkeeping (issue: decode at the bandwidth
 * limit). weightBytes: the quantized tensors the kernels read (each matrix once per dispatch);
 * kvBytes: the cache rows attention reads (average bytes per position of the layout);
 * activationBytes: f32 activations each dispatch reads and writes, every tensor counted once per
 * dispatch (norm weights and biases included, the KV cache not): what fusions save.
 */
export interface GpuWork {
  dispatches: number;
  pipelineSwitches: number;
  bindGroups: number;
  uniformWrites: number;
  weightBytes: number;
  kvBytes: number;
  activationBytes: number;
}

const noWork = (): GpuWork => ({ dispatches: 0, pipelineSwitches: 0, bindGroups: 0, uniformWrites: 0, weightBytes: 0, kvBytes: 0, activationBytes: 0 });

export interface GpuBackendOptions {
  layerRange: readonly [number, number];
  /** Tokens per prefill batch (scratch buffers are sized for it). */
  batch?: number;
  /** KV cache mode, group and window (default f16; 'f32' is exact, for reference comparisons). */
  kv?: KvOptions;
  /**
   * Decode fusions (default on): RMSNorm folded into the next matvec, Q/K/V and gate/up as one
   * dispatch when the weights were loaded concatenated (weights.ts, LoadOptions.fuse), SwiGLU/GELU
   * on the way out, the residual add inside attn_output/ffn_down. Off: one dispatch per op.
   */
  fuse?: boolean;
  /**
   * With fuse: RMSNorm folded into the matvec that reads it (NORM), or kept as its own dispatch
   * into xn. Default: folded, except on SwiftShader, where the fold's row staged in workgroup
   * memory made a 2048x2048 Q4_K matvec take 2.1x the time of rmsnorm + matvec (its workgroup
   * memory reads are slower than storage reads). On lavapipe (Firefox) the fold pays, as on GPUs
   * (`npm run bench -- engine --browser firefox`).
   */
  fuseNorm?: boolean;
}

/** The decode graphs (fuse / fuseNorm), most fused first: benchmarks and --fusion name them. */
export const DECODE_GRAPHS = [
  { graph: 'fused', fuse: true, fuseNorm: true },
  { graph: 'fused, norm apart', fuse: true, fuseNorm: false },
  { graph: 'unfused', fuse: false, fuseNorm: false },
] as const;
export type DecodeGraph = (typeof DECODE_GRAPHS)[number];

/** fuseNorm when not told (see GpuBackendOptions.fuseNorm). */
export function defaultFuseNorm(rt: GpuRuntime): boolean {
  return !swiftShader(rt);
}

type Scratch = Record<'x' | 'xn' | 'q' | 'kn' | 'vn' | 'att' | 'o' | 'g' | 'u' | 'tok', GPUBuffer>;
type Step = Promise<PreparedDispatch | PreparedDispatch[]>;

export class GpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly config: LlamaConfig;
  readonly layerRange: readonly [number, number];
  readonly rt: GpuRuntime;
  /** Bind groups and uniform slots kept across forward calls; steps are prepared through frame.runtime. */
  private readonly frame: DispatchFrame;
  private readonly fr: FramedRuntime;
  private readonly w: ModelWeights;
  private readonly batch: number;
  /** See GpuBackendOptions.fuse. */
  readonly fuse: boolean;
  /** See GpuBackendOptions.fuseNorm (false when fuse is). */
  readonly fuseNorm: boolean;
  /** The KV cache's resolved layout (mode, groups, window, words). */
  readonly kvLayout: KvLayout;
  private readonly kv: GpuKvCache;
  private readonly s: Scratch;
  /** RoPE (cos, sin) tables by base: one, or two for gemma3 (its local layers' own base). */
  private readonly ropeTables = new Map<string, GPUBuffer>();
  private logits: GPUBuffer | undefined;
  private disposed = false;
  /** Why the context has its size (src/engine/context.ts), for load messages. */
  contextReason = '';
  /** The work of the last forward() (a decode token after a decode step). */
  lastWork: GpuWork = noWork();
  private work: GpuWork = noWork();

  constructor(rt: GpuRuntime, config: LlamaConfig, weights: ModelWeights, opts: GpuBackendOptions) {
    this.rt = rt;
    this.frame = new DispatchFrame(rt);
    this.fr = this.frame.runtime;
    this.config = config;
    this.w = weights;
    this.layerRange = opts.layerRange;
    this.batch = Math.max(1, opts.batch ?? 64);
    this.fuse = opts.fuse ?? true;
    this.fuseNorm = this.fuse && (opts.fuseNorm ?? defaultFuseNorm(rt));
    const c = config;
    const B = this.batch;
    const f = (n: number, label: string) => rt.pool.acquire(n * 4, 'scratch', label);
    this.s = {
      x: f(B * c.nEmbd, 'x'),
      xn: f(B * Math.max(c.nEmbd, c.nHead * c.headDimV), 'xn'),
      q: f(B * c.nHead * c.headDimK, 'q'),
      kn: f(B * c.nHeadKv * c.headDimK, 'k.new'),
      vn: f(B * c.nHeadKv * c.headDimV, 'v.new'),
      att: f(B * c.nHead * c.headDimV, 'att'),
      o: f(B * c.nEmbd, 'o'),
      g: f(B * c.nFf, 'g'),
      u: f(B * c.nFf, 'u'),
      tok: f(B, 'tokens'),
    };
    for (let l = opts.layerRange[0]; l < opts.layerRange[1]; l++) {
      const { base, scale: sc } = ropeParams(c, l);
      if (this.ropeTables.has(`${base}/${sc}`)) continue;
      const table = ropeTable(c.nCtx, c.ropeDim, base, sc, weights.ropeFactors, c.family.ropeAttnFactor);
      this.ropeTables.set(`${base}/${sc}`, rt.pool.upload(table, 'scratch', `rope.${base}`));
    }
    this.kvLayout = resolveKvLayout(opts.kv, c);
    this.kv = new GpuKvCache(this.fr, this.kvLayout, opts.layerRange);
  }

  private mm(w: QuantTensor, x: GPUBuffer, y: GPUBuffer, nTok: number, o: { xOffset?: number; yOffset?: number; yStride?: number } = {}): Promise<PreparedDispatch> {
    this.work.weightBytes += w.rows * w.rowBytes;
    this.act(nTok * w.cols, nTok * w.rows);
    if (nTok === 1) return prepareMatvecQ(this.fr, w, x, y, o);
    return prepareMatmulQ(this.fr, w, x, y, nTok, { xOffset: o.xOffset, yOffset: o.yOffset, xStride: w.cols, yStride: o.yStride ?? w.rows });
  }

  /** A fused matvec (src/engine/gpu/fused.ts), its weights counted like mm's. */
  private fmv(w: QuantTensor, x: GPUBuffer, y: GPUBuffer | undefined, o: FusedMatvecOptions): Promise<PreparedDispatch> {
    if (y && !o.norm && !o.route && !o.glu && !o.add) return this.mm(w, x, y, 1, { xOffset: o.xOffset });
    this.work.weightBytes += w.rows * w.rowBytes;
    const out = o.glu ? w.rows / 2 : w.rows;
    this.act(w.cols * (o.norm ? 2 : 1) + (o.add ? out : 0), out);
    return prepareFusedMatvec(this.fr, w, x, y, o);
  }

  /**
   * A fused matvec's input after an RMSNorm of x's row at xOffset: x itself with the norm folded
   * in (fuseNorm), or rmsnorm's dispatch into xn first.
   */
  private normed(weight: GPUBuffer, xOffset = 0): { steps: Step[]; x: GPUBuffer; o: FusedMatvecOptions } {
    const c = this.config;
    if (this.fuseNorm) return { steps: [], x: this.s.x, o: { norm: { weight, eps: c.normEps }, xOffset } };
    return { steps: [this.ew(rmsnorm(this.fr, this.s.x, weight, this.s.xn, 1, c.nEmbd, c.normEps, xOffset), 2 * c.nEmbd, c.nEmbd)], x: this.s.xn, o: {} };
  }

  /** Activation floats an op reads and writes (each tensor once per dispatch: no cache effects). */
  private act(read: number, written: number): void {
    this.work.activationBytes += 4 * (read + written);
  }

  /** A small op's step, counted: `read` and `written` floats. */
  private ew(step: Step, read: number, written: number): Step {
    this.act(read, written);
    return step;
  }

  /** Prepare (through the frame: kept bind groups), write the uniforms once, encode one pass, submit. */

  private async run(build: () => Step[]): Promise<void> {
    this.frame.begin();
    const ds = (await Promise.all(build())).flat();
    const writes = this.frame.writes;
    this.frame.flush();
    const w = this.work;
    w.uniformWrites += this.frame.writes - writes;
    ds.forEach((d, i) => {
      w.dispatches += d.dispatches;
      w.bindGroups += d.bindGroups;
      w.uniformWrites += d.uniformWrites;
      if (i === 0 || d.pipeline !== ds[i - 1]!.pipeline) w.pipelineSwitches++;
    });
    const enc = this.rt.device.createCommandEncoder({ label: 'forward' });
    const pass = enc.beginComputePass({ label: 'forward' });
    for (const d of ds) d.encode(pass);
    pass.end();
    try {
      await this.rt.submit([enc.finish()]);
    } finally {
      for (const d of ds) d.release();
    }
  }

  private upload(dst: GPUBuffer, data: Float32Array): void {
    this.rt.device.queue.writeBuffer(dst, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }

  private checkPositions(pos: number, nTok: number): void {
    if (this.disposed) throw new Error('backend disposed');
    if (pos + nTok > this.config.nCtx) throw new ContextOverflowError(pos + nTok, this.config.nCtx);
  }

  private embedSteps(tokens: ArrayLike<number>): Step[] {
    const w = this.w.embed;
    if (!w) throw new Error('this backend does not hold the embedding');
    const ids = Uint32Array.from(tokens as ArrayLike<number>);
    for (const t of ids) if (t >= w.rows) throw new RangeError(`token id ${t} is outside the vocabulary (${w.rows})`);
    this.rt.device.queue.writeBuffer(this.s.tok, 0, ids);
    const e = this.config.family.embedScale;
    this.work.weightBytes += ids.length * w.rowBytes;
    const n = ids.length * this.config.nEmbd;
    this.act(ids.length, n);
    return [prepareGetRows(this.fr, w, this.s.tok, this.s.x, ids.length), ...(e !== 1 ? [this.ew(scale(this.fr, this.s.x, n, e), n, n)] : [])];
  }

  /** Decode fusions apply: one token and the `fuse` option (prefill keeps the unfused graph). */
  private fusing(nTok: number): boolean {
    return this.fuse && nTok === 1;
  }

  /** norm(x) -> q, kn, vn: one NORM+ROUTE matvec (fused layout), NORM matvecs, or rmsnorm then matmuls. */
  private qkvSteps(L: LayerWeights, nTok: number): Step[] {
    const c = this.config;
    const s = this.s;
    const outs = [{ buffer: s.q, rows: c.nHead * c.headDimK }, { buffer: s.kn, rows: c.nHeadKv * c.headDimK }, { buffer: s.vn, rows: c.nHeadKv * c.headDimV }];
    if (this.fusing(nTok)) {
      const n = this.normed(L.attnNorm);
      if ('qkv' in L.attn) return [...n.steps, this.fmv(L.attn.qkv, n.x, undefined, { ...n.o, route: outs })];
      const { q, k, v } = L.attn;
      return [...n.steps, ...[q, k, v].map((m, i) => this.fmv(m, n.x, outs[i]!.buffer, n.o))];
    }
    const nE = nTok * c.nEmbd;
    const steps: Step[] = [this.ew(rmsnorm(this.fr, s.x, L.attnNorm, s.xn, nTok, c.nEmbd, c.normEps), nE + c.nEmbd, nE)];
    if ('qkv' in L.attn) {
      this.work.weightBytes += L.attn.qkv.rows * L.attn.qkv.rowBytes;
      this.act(nE, nTok * L.attn.qkv.rows);
      steps.push(prepareRoutedMatmul(this.fr, L.attn.qkv, s.xn, nTok, outs));
    } else {
      // The batch's K and V stay in f32 scratch for its own attention, then go to the cache.
      const { q, k, v } = L.attn;
      steps.push(this.mm(q, s.xn, s.q, nTok), this.mm(k, s.xn, s.kn, nTok, { yStride: outs[1]!.rows }), this.mm(v, s.xn, s.vn, nTok, { yStride: outs[2]!.rows }));
    }
    return steps;
  }

  /** x += post(W_o att + b): the residual add inside the matvec when nothing sits between them. */
  private residualSteps(m: QuantTensor, input: GPUBuffer, nTok: number, bias: GPUBuffer | undefined, post: GPUBuffer | undefined): Step[] {
    const c = this.config;
    const s = this.s;
    const nE = nTok * c.nEmbd;
    if (this.fusing(nTok) && !bias && !post) return [this.fmv(m, input, s.x, { add: true })];
    return [
      this.mm(m, input, s.o, nTok),
      ...(bias ? [this.ew(addBias(this.fr, s.o, bias, nE, c.nEmbd), nE + c.nEmbd, nE)] : []),
      ...(post ? [this.ew(rmsnormInPlace(this.fr, s.o, post, nTok, c.nEmbd, c.normEps), nE + c.nEmbd, nE)] : []),
      this.ew(add(this.fr, s.x, s.o, nE), 2 * nE, nE),
    ];
  }

  /** norm(x) -> act(gate) * up in s.g: one NORM+GLU matvec (fused layout), or the parts then silu/gelu_mul. */
  private gluSteps(L: LayerWeights, nTok: number): Step[] {
    const c = this.config;
    const s = this.s;
    const act = c.family.ffnAct === 'gelu' ? 'gelu' : 'silu';
    const nF = nTok * c.nFf;
    const mul = (): Step => this.ew((act === 'gelu' ? geluMul : siluMul)(this.fr, s.g, s.u, nF), 2 * nF, nF);
    const outs = [{ buffer: s.g, rows: c.nFf }, { buffer: s.u, rows: c.nFf }];
    if (this.fusing(nTok)) {
      const n = this.normed(L.ffnNorm);
      if ('gateUp' in L.ffn) {
        // GLU needs rows r and nFf + r in one binding; a tensor split across bindings routes instead.
        if (L.ffn.gateUp.chunks.length === 1) return [...n.steps, this.fmv(L.ffn.gateUp, n.x, s.g, { ...n.o, glu: act })];
        return [...n.steps, this.fmv(L.ffn.gateUp, n.x, undefined, { ...n.o, route: outs }), mul()];
      }
      return [...n.steps, this.fmv(L.ffn.gate, n.x, s.g, n.o), this.fmv(L.ffn.up, n.x, s.u, n.o), mul()];
    }
    const nE = nTok * c.nEmbd;
    const steps: Step[] = [this.ew(rmsnorm(this.fr, s.x, L.ffnNorm, s.xn, nTok, c.nEmbd, c.normEps), nE + c.nEmbd, nE)];
    if ('gateUp' in L.ffn) {
      this.work.weightBytes += L.ffn.gateUp.rows * L.ffn.gateUp.rowBytes;
      this.act(nE, 2 * nF);
      steps.push(prepareRoutedMatmul(this.fr, L.ffn.gateUp, s.xn, nTok, outs));
    } else {
      steps.push(this.mm(L.ffn.gate, s.xn, s.g, nTok), this.mm(L.ffn.up, s.xn, s.u, nTok));
    }
    return [...steps, mul()];
  }

  private layerSteps(l: number, nTok: number, pos: number): Step[] {
    const c = this.config;
    const L = this.w.layers.get(l);
    if (!L) throw new RangeError(`layer ${l} is not held by this backend (range ${this.layerRange.join('..')})`);
    const rt = this.fr;
    const s = this.s;
    const f = c.family;
    const qD = c.nHead * c.headDimK;
    const kvK = c.nHeadKv * c.headDimK;
    const kvV = c.nHeadKv * c.headDimV;
    const rp = ropeParams(c, l);
    const table = this.ropeTables.get(`${rp.base}/${rp.scale}`)!;
    const ropeArgs = { rows: nTok, pos0: pos, table, ropeDim: c.ropeDim, neox: f.ropeNeox };
    const L0 = this.kvLayout;
    this.work.kvBytes += Math.round(((pos + nTok) * (L0.k.words + L0.v.words) * 4) / L0.nCtx);
    // q0 first: store() advances the layer's quantized count for the next batch.
    const q0 = this.kv.q0(l, pos);
    const rot = this.kvLayout.rotate;
    const rotate = (x: GPUBuffer, nHead: number, headDim: number): Step => prepareRotate(rt, x, { rows: nTok, nHead, headDim });
    const opt = (b: GPUBuffer | undefined, step: (b: GPUBuffer) => Step): Step[] => (b ? [step(b)] : []);
    // In-place ops over n floats (plus a per-row vector of `v`): read n + v, write n.
    const inPlace = (step: Step, n: number, v = 0): Step => this.ew(step, n + v, n);
    const [nq, nk, nv, no] = [nTok * qD, nTok * kvK, nTok * kvV, nTok * c.nHead * c.headDimV];
    this.act(nq + nk + nv, no); // attention: q and the batch's k, v in; its output (the cache: kvBytes)
    this.act(nk + nv, 0); // the cache append reads the batch's k, v
    const prep: Step[] = L.headParams
      ? [this.ew(prepareHeadPrep(rt, { q: s.q, k: s.kn, v: s.vn, table, params: L.headParams }, {
          rows: nTok, nHead: c.nHead, nHeadKv: c.nHeadKv, headDimK: c.headDimK, headDimV: c.headDimV,
          ropeDim: c.ropeDim, neox: f.ropeNeox, pos0: pos, eps: c.normEps, rotate: rot,
        }), nq + nk + nv, nq + nk + nv)]
      : [
          ...opt(L.qBias, (b) => inPlace(addBias(rt, s.q, b, nq, qD), nq, qD)),
          ...opt(L.kBias, (b) => inPlace(addBias(rt, s.kn, b, nk, kvK), nk, kvK)),
          ...opt(L.vBias, (b) => inPlace(addBias(rt, s.vn, b, nv, kvV), nv, kvV)),
          ...opt(L.qNorm, (b) => inPlace(rmsnormInPlace(rt, s.q, b, nTok * c.nHead, c.headDimK, c.normEps), nq, c.headDimK)),
          ...opt(L.kNorm, (b) => inPlace(rmsnormInPlace(rt, s.kn, b, nTok * c.nHeadKv, c.headDimK, c.normEps), nk, c.headDimK)),
          inPlace(rope(rt, s.q, { ...ropeArgs, nHead: c.nHead, headDim: c.headDimK }), nq),
          inPlace(rope(rt, s.kn, { ...ropeArgs, nHead: c.nHeadKv, headDim: c.headDimK }), nk),
          ...(rot ? [inPlace(rotate(s.q, c.nHead, c.headDimK), nq), inPlace(rotate(s.kn, c.nHeadKv, c.headDimK), nk), inPlace(rotate(s.vn, c.nHeadKv, c.headDimV), nv)] : []),
        ];
    return [
      ...this.qkvSteps(L, nTok),
      ...prep,
      prepareKvAttention(rt, this.kvLayout, { q: s.q, kc: this.kv.k.get(l)!, vc: this.kv.v.get(l)!, kn: s.kn, vn: s.vn, o: s.att }, {
        nTok,
        nHead: c.nHead,
        nHeadKv: c.nHeadKv,
        headDimK: c.headDimK,
        headDimV: c.headDimV,
        pos0: pos,
        q0,
        scale: f.attnScale,
        softcap: f.attnSoftcap,
        window: layerWindow(c, l),
        rotateOut: rot && this.fuse,
      }),
      this.kv.store(l, pos, nTok, s.kn, s.vn, !this.fuse),
      ...(rot && !this.fuse ? [inPlace(rotate(s.att, c.nHead, c.headDimV), no)] : []),
      ...this.residualSteps(L.o, s.att, nTok, L.oBias, L.postAttnNorm),
      ...this.gluSteps(L, nTok),
      ...this.residualSteps(L.down, s.g, nTok, undefined, L.postFfnNorm),
    ];
  }

  private headSteps(nTok: number, all: boolean): Step[] {
    const c = this.config;
    if (!this.w.output || !this.w.outputNorm) throw new Error('this backend does not hold the output head');
    const rows = all ? nTok : 1;
    const need = rows * c.nVocab * 4;
    if (!this.logits || this.logits.size < need) {
      if (this.logits) this.rt.pool.release(this.logits);
      this.logits = this.rt.pool.acquire(need, 'io', 'logits');
    }
    const n = rows * c.nVocab;
    const cap = c.family.finalSoftcap;
    const xOffset = all ? 0 : (nTok - 1) * c.nEmbd;
    return [
      ...(this.fuse && rows === 1
        ? ((n) => [...n.steps, this.fmv(this.w.output, n.x, this.logits!, n.o)])(this.normed(this.w.outputNorm, xOffset))
        : [this.ew(rmsnorm(this.fr, this.s.x, this.w.outputNorm, this.s.xn, rows, c.nEmbd, c.normEps, xOffset), (rows + 1) * c.nEmbd, rows * c.nEmbd), this.mm(this.w.output, this.s.xn, this.logits, rows)]),
      ...(this.w.outputBias ? [this.ew(addBias(this.fr, this.logits, this.w.outputBias, n, c.nVocab), n + c.nVocab, n)] : []),
      ...(cap > 0 ? [this.ew(softcap(this.fr, this.logits, n, cap), n, n)] : []),
    ];
  }

  private async readLogits(rows: number): Promise<Float32Array> {
    return new Float32Array(await this.rt.read(this.logits!, rows * this.config.nVocab * 4));
  }

  private chunks(n: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < n; i += this.batch) out.push([i, Math.min(n, i + this.batch)]);
    return out;
  }

  async forward(tokens: ArrayLike<number>, pos: number, all = false): Promise<Float32Array> {
    this.checkPositions(pos, tokens.length);
    this.work = noWork();
    const [a, b] = this.layerRange;
    const out: Float32Array[] = [];
    for (const [i, j] of this.chunks(tokens.length)) {
      const n = j - i;
      const last = j === tokens.length;
      await this.run(() => {
        const steps = this.embedSteps(Array.prototype.slice.call(tokens, i, j) as number[]);
        for (let l = a; l < b; l++) steps.push(...this.layerSteps(l, n, pos + i));
        if (all || last) steps.push(...this.headSteps(n, all));
        return steps;
      });
      if (all || last) out.push(await this.readLogits(all ? n : 1));
    }
    this.lastWork = this.work;
    return out.length === 1 ? out[0] : concat(out);
  }

  async embed(tokens: ArrayLike<number>): Promise<Float32Array> {
    const out: Float32Array[] = [];
    for (const [i, j] of this.chunks(tokens.length)) {
      await this.run(() => this.embedSteps(Array.prototype.slice.call(tokens, i, j) as number[]));
      out.push(new Float32Array(await this.rt.read(this.s.x, (j - i) * this.config.nEmbd * 4)));
    }
    return concat(out);
  }

  async layers(hidden: Float32Array, nTok: number, pos: number, from: number, to: number): Promise<Float32Array> {
    this.checkPositions(pos, nTok);
    const E = this.config.nEmbd;
    const out: Float32Array[] = [];
    for (const [i, j] of this.chunks(nTok)) {
      this.upload(this.s.x, hidden.subarray(i * E, j * E));
      await this.run(() => {
        const steps: Step[] = [];
        for (let l = from; l < to; l++) steps.push(...this.layerSteps(l, j - i, pos + i));
        return steps;
      });
      out.push(new Float32Array(await this.rt.read(this.s.x, (j - i) * E * 4)));
    }
    return concat(out);
  }

  async head(hidden: Float32Array, nTok: number, all = false): Promise<Float32Array> {
    const E = this.config.nEmbd;
    const out: Float32Array[] = [];
    for (const [i, j] of this.chunks(nTok)) {
      const last = j === nTok;
      if (!all && !last) continue;
      this.upload(this.s.x, hidden.subarray(i * E, j * E));
      await this.run(() => this.headSteps(j - i, all));
      out.push(await this.readLogits(all ? j - i : 1));
    }
    return concat(out);
  }

  truncate(pos: number): void {
    // Entries are overwritten in place and attention reads only positions < pos0 + t; the one
    // piece of state is how many positions are quantized, which must not exceed `pos`.
    this.kv.truncate(pos);
  }

  /** Benchmarks only: decode at position n without prefilling 0..n-1 (see GpuKvCache.assumeFilled). */
  kvAssumeFilled(n: number): void {
    this.kv.assumeFilled(n);
  }

  /** kv: this backend's cache buffers as allocated; weights and scratch: the runtime's pool. */
  memory(): MemoryReport {
    const u = this.rt.pool.usage();
    return { weights: u.weights, kv: this.kv.bytes(), scratch: u.scratch + u.io };
  }

  /** Free this backend's buffers only: the runtime may be shared with other models. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const bufs = new Set<GPUBuffer>([...Object.values(this.s), ...this.ropeTables.values(), ...this.kv.buffers(), ...weightBuffers(this.w)]);
    if (this.logits) bufs.add(this.logits);
    for (const b of bufs) this.rt.pool.destroy(b);
    this.frame.destroy();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
