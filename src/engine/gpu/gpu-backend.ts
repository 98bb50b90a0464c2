// The WebGPU backend: the llama graph as WGSL dispatches over weights kept quantized on the GPU,
// with an f32 KV cache on the GPU. One forward call encodes every dispatch into one compute pass
// and one submit; the only readback is the logits (or hidden states at a slice boundary).
import type { GpuRuntime } from '../../gpu/runtime.ts';
import type { PreparedDispatch } from '../../gpu/dispatch.ts';
import { prepareGetRows, prepareMatmulQ, prepareMatvecQ } from '../../gpu/kernels/matmul-q.ts';
import type { QuantTensor } from '../../gpu/kernels/quant-tensor.ts';
import type { Backend, LlamaConfig, MemoryReport } from '../backend.ts';
import { add, attention, rmsnorm, rope, ropeTable, siluMul } from './ops.ts';
import type { ModelWeights } from './weights.ts';
import { ContextOverflowError } from '../errors.ts';

export interface GpuBackendOptions {
  layerRange: readonly [number, number];
  /** Tokens per prefill batch (scratch buffers are sized for it). */
  batch?: number;
}

type Scratch = Record<'x' | 'xn' | 'q' | 'att' | 'o' | 'g' | 'u' | 'scores' | 'tok' | 'rope', GPUBuffer>;

export class GpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly config: LlamaConfig;
  readonly layerRange: readonly [number, number];
  readonly rt: GpuRuntime;
  private readonly w: ModelWeights;
  private readonly batch: number;
  private readonly kCache = new Map<number, GPUBuffer>();
  private readonly vCache = new Map<number, GPUBuffer>();
  private readonly s: Scratch;
  private logits: GPUBuffer | undefined;
  private disposed = false;

  constructor(rt: GpuRuntime, config: LlamaConfig, weights: ModelWeights, opts: GpuBackendOptions) {
    this.rt = rt;
    this.config = config;
    this.w = weights;
    this.layerRange = opts.layerRange;
    this.batch = Math.max(1, opts.batch ?? 64);
    const c = config;
    const B = this.batch;
    const f = (n: number, label: string) => rt.pool.acquire(n * 4, 'scratch', label);
    this.s = {
      x: f(B * c.nEmbd, 'x'),
      xn: f(B * Math.max(c.nEmbd, c.nHead * c.headDimV), 'xn'),
      q: f(B * c.nHead * c.headDimK, 'q'),
      att: f(B * c.nHead * c.headDimV, 'att'),
      o: f(B * c.nEmbd, 'o'),
      g: f(B * c.nFf, 'g'),
      u: f(B * c.nFf, 'u'),
      scores: f(B * c.nHead * c.nCtx, 'scores'),
      tok: f(B, 'tokens'),
      rope: rt.pool.upload(ropeTable(c.nCtx, c.ropeDim, c.ropeBase, c.ropeScale), 'scratch', 'rope'),
    };
    for (let l = opts.layerRange[0]; l < opts.layerRange[1]; l++) {
      this.kCache.set(l, rt.pool.acquire(c.nCtx * c.nHeadKv * c.headDimK * 4, 'kv', `k${l}`));
      this.vCache.set(l, rt.pool.acquire(c.nCtx * c.nHeadKv * c.headDimV * 4, 'kv', `v${l}`));
    }
  }

  private mm(w: QuantTensor, x: GPUBuffer, y: GPUBuffer, nTok: number, o: { xOffset?: number; yOffset?: number; yStride?: number } = {}): Promise<PreparedDispatch> {
    if (nTok === 1) return prepareMatvecQ(this.rt, w, x, y, o);
    return prepareMatmulQ(this.rt, w, x, y, nTok, { xOffset: o.xOffset, yOffset: o.yOffset, xStride: w.cols, yStride: o.yStride ?? w.rows });
  }

  private async run(steps: Promise<PreparedDispatch>[]): Promise<void> {
    const ds = await Promise.all(steps);
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

  private embedSteps(tokens: ArrayLike<number>): Promise<PreparedDispatch>[] {
    const w = this.w.embed;
    if (!w) throw new Error('this backend does not hold the embedding');
    const ids = Uint32Array.from(tokens as ArrayLike<number>);
    for (const t of ids) if (t >= w.rows) throw new RangeError(`token id ${t} is outside the vocabulary (${w.rows})`);
    this.rt.device.queue.writeBuffer(this.s.tok, 0, ids);
    return [prepareGetRows(this.rt, w, this.s.tok, this.s.x, ids.length)];
  }

  private layerSteps(l: number, nTok: number, pos: number): Promise<PreparedDispatch>[] {
    const c = this.config;
    const L = this.w.layers.get(l);
    if (!L) throw new RangeError(`layer ${l} is not held by this backend (range ${this.layerRange.join('..')})`);
    const rt = this.rt;
    const s = this.s;
    const k = this.kCache.get(l)!;
    const v = this.vCache.get(l)!;
    const kvK = c.nHeadKv * c.headDimK;
    const kvV = c.nHeadKv * c.headDimV;
    const ropeArgs = { rows: nTok, pos0: pos, table: s.rope, ropeDim: c.ropeDim };
    return [
      rmsnorm(rt, s.x, L.attnNorm, s.xn, nTok, c.nEmbd, c.normEps),
      this.mm(L.q, s.xn, s.q, nTok),
      // K and V land directly in the cache rows of their positions.
      this.mm(L.k, s.xn, k, nTok, { yOffset: pos * kvK, yStride: kvK }),
      this.mm(L.v, s.xn, v, nTok, { yOffset: pos * kvV, yStride: kvV }),
      rope(rt, s.q, { ...ropeArgs, nHead: c.nHead, headDim: c.headDimK }),
      rope(rt, k, { ...ropeArgs, nHead: c.nHeadKv, headDim: c.headDimK, offset: pos * kvK, stride: kvK }),
      attention(rt, s.q, k, v, s.scores, s.att, {
        nTok,
        nHead: c.nHead,
        nHeadKv: c.nHeadKv,
        headDimK: c.headDimK,
        headDimV: c.headDimV,
        pos0: pos,
        nCtx: c.nCtx,
        scale: 1 / Math.sqrt(c.headDimK),
      }),
      this.mm(L.o, s.att, s.o, nTok),
      add(rt, s.x, s.o, nTok * c.nEmbd),
      rmsnorm(rt, s.x, L.ffnNorm, s.xn, nTok, c.nEmbd, c.normEps),
      this.mm(L.gate, s.xn, s.g, nTok),
      this.mm(L.up, s.xn, s.u, nTok),
      siluMul(rt, s.g, s.u, nTok * c.nFf),
      this.mm(L.down, s.g, s.o, nTok),
      add(rt, s.x, s.o, nTok * c.nEmbd),
    ];
  }

  private headSteps(nTok: number, all: boolean): Promise<PreparedDispatch>[] {
    const c = this.config;
    if (!this.w.output || !this.w.outputNorm) throw new Error('this backend does not hold the output head');
    const rows = all ? nTok : 1;
    const need = rows * c.nVocab * 4;
    if (!this.logits || this.logits.size < need) {
      if (this.logits) this.rt.pool.release(this.logits);
      this.logits = this.rt.pool.acquire(need, 'io', 'logits');
    }
    return [
      rmsnorm(this.rt, this.s.x, this.w.outputNorm, this.s.xn, rows, c.nEmbd, c.normEps, all ? 0 : (nTok - 1) * c.nEmbd),
      this.mm(this.w.output, this.s.xn, this.logits, rows),
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
    const [a, b] = this.layerRange;
    const out: Float32Array[] = [];
    for (const [i, j] of this.chunks(tokens.length)) {
      const n = j - i;
      const steps = this.embedSteps(Array.prototype.slice.call(tokens, i, j) as number[]);
      for (let l = a; l < b; l++) steps.push(...this.layerSteps(l, n, pos + i));
      const last = j === tokens.length;
      if (all || last) steps.push(...this.headSteps(n, all));
      await this.run(steps);
      if (all || last) out.push(await this.readLogits(all ? n : 1));
    }
    return out.length === 1 ? out[0] : concat(out);
  }

  async embed(tokens: ArrayLike<number>): Promise<Float32Array> {
    const out: Float32Array[] = [];
    for (const [i, j] of this.chunks(tokens.length)) {
      await this.run(this.embedSteps(Array.prototype.slice.call(tokens, i, j) as number[]));
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
      const steps: Promise<PreparedDispatch>[] = [];
      for (let l = from; l < to; l++) steps.push(...this.layerSteps(l, j - i, pos + i));
      await this.run(steps);
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
      await this.run(this.headSteps(j - i, all));
      out.push(await this.readLogits(all ? j - i : 1));
    }
    return concat(out);
  }

  truncate(_pos: number): void {
    // The f32 cache is overwritten in place and attention reads only positions < pos0 + t, so
    // forgetting positions needs no GPU work: the caller simply continues from `pos`.
  }

  memory(): MemoryReport {
    const u = this.rt.pool.usage();
    return { weights: u.weights, kv: u.kv, scratch: u.scratch + u.io };
  }

  /** Free this backend's buffers only: the runtime may be shared with other models. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const bufs = new Set<GPUBuffer>([...Object.values(this.s), ...this.kCache.values(), ...this.vCache.values()]);
    if (this.logits) bufs.add(this.logits);
    const w = this.w;
    const mats = [w.embed, w.output, ...[...w.layers.values()].flatMap((L) => [L.q, L.k, L.v, L.o, L.gate, L.up, L.down])];
    for (const m of mats) for (const c of m?.chunks ?? []) bufs.add(c.buffer);
    for (const b of [w.outputNorm, ...[...w.layers.values()].flatMap((L) => [L.attnNorm, L.ffnNorm])]) if (b) bufs.add(b);
    for (const b of bufs) this.rt.pool.destroy(b);
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
