// The WASM kernels module (kernels.wasm, built from ./c by scripts/build-wasm.ts) and the memory it
// computes in. Weights are placed once, quantized as stored, by a bump allocator from __heap_base;
// per-call scratch (activations in, results out) lives above them and is reused. The memory is
// created here (imported by the module) so its growth and its 4 GiB ceiling are decided in one place.
// With more than one thread the memory is shared and kernels-mt.wasm runs on it here and in the
// pool's workers (pool.ts), each matmul's rows split between them.
import { GgmlType } from '../../quant/ggml-types.ts';
import { WasmLoadError, WasmMemoryLimitError } from './errors.ts';
import { ThreadPool } from './pool.ts';
import { CTL } from './ctl.ts';
import { resolveThreads } from './threads.ts';
import { type AttnOptions, type AttnShape, type KvLayerRef } from '../kv/cache.ts';
import type { KvSide } from '../kv/layout.ts';

/** Not a ggml type: the matmul export's id for an attention call (c/attention.c, c/matmul.c). */
const ATTENTION = 1000;
/** Words of attn_params (c/attention.c). */
const ATTN_PARAM_WORDS = 33;

export const WASM_PAGE = 65536;
/** wasm32 addresses 2^32 bytes: 65536 pages. */
export const WASM_MAX_BYTES = 2 ** 32;

interface KernelExports {
  __heap_base: WebAssembly.Global;
  matmul(type: number, w: number, x: number, y: number, nIn: number, nOut: number, nTok: number, r0: number, r1: number): number;
  quantize_act32(x: number, y: number, n: number): void;
  quantize_act256(x: number, y: number, n: number): void;
  rmsnorm(out: number, x: number, w: number, nTok: number, n: number, eps: number): void;
  rope(x: number, nTok: number, nHeads: number, headDim: number, cos: number, sin: number, half: number, neox: number): void;
  swiglu(g: number, u: number, n: number): void;
  geglu(g: number, u: number, n: number): void;
}

/** How a weight type wants its activations: f32 rows, or int8 blocks of 32 or 256 (act32/act256 in c/common.h). */
export type ActKind = 'f32' | 'q32' | 'q256';
const ACT: ReadonlyMap<number, ActKind> = new Map([
  [GgmlType.F32, 'f32'], [GgmlType.F16, 'f32'], [GgmlType.Q4_0, 'q32'], [GgmlType.Q8_0, 'q32'],
  [GgmlType.Q2_K, 'q256'], [GgmlType.Q3_K, 'q256'], [GgmlType.Q4_K, 'q256'], [GgmlType.Q5_K, 'q256'], [GgmlType.Q6_K, 'q256'],
]);

/** Bytes of the quantized activations of n floats. */
function actBytes(kind: ActKind, n: number): number {
  return kind === 'f32' ? 4 * n : kind === 'q32' ? (n / 32) * 36 : (n / 256) * 804;
}

/** Types with a WASM matmul kernel. */
export function hasWasmKernel(type: number): boolean {
  return ACT.has(type);
}

/** A weight matrix in WASM memory: `rows` rows of `cols` weights, as GGUF stores them, at `ptr`. */
export interface WasmMatrix {
  readonly ptr: number;
  readonly type: number;
  readonly rows: number;
  readonly cols: number;
  readonly rowBytes: number;
}

/** Rows [r0, r1) of m as a matrix of its own (fused tensors are split this way): no copy. */
export function matrixRows(m: WasmMatrix, r0: number, r1: number): WasmMatrix {
  return { ptr: m.ptr + r0 * m.rowBytes, type: m.type, rows: r1 - r0, cols: m.cols, rowBytes: m.rowBytes };
}

const wasmModules = new Map<string, Promise<WebAssembly.Module>>();

/** The single-thread module's URL and the shared-memory one's (literal, so Vite emits both assets). */
const MODULE_URLS = { single: () => new URL('./kernels.wasm', import.meta.url), mt: () => new URL('./kernels-mt.wasm', import.meta.url) };

/** A compiled module, once per thread. Node reads the file; browsers fetch the asset Vite emits. */
function compiled(kind: keyof typeof MODULE_URLS): Promise<WebAssembly.Module> {
  let wasmModule = wasmModules.get(kind);
  if (wasmModule) return wasmModule;
  wasmModule = (async () => {
    const url = MODULE_URLS[kind]();
    try {
      if (url.protocol === 'file:') {
        // process.getBuiltinModule keeps node:fs out of the browser bundle's import graph.
        const fs = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:fs') as typeof import('node:fs');
        return await WebAssembly.compile(fs.readFileSync(url));
      }
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status} for ${url.href}`);
      return await WebAssembly.compile(await res.arrayBuffer());
    } catch (err) {
      wasmModules.delete(kind);
      throw new WasmLoadError(`cannot load the WASM kernels (${(err as Error).message})`, { cause: err });
    }
  })();
  wasmModules.set(kind, wasmModule);
  return wasmModule;
}

/** Stack per worker thread (the linker's -z stack-size; the kernels use a few hundred bytes). */
const THREAD_STACK = 65536;

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  private readonly ex: KernelExports;
  /** End of the permanent (weights) allocations. */
  private top: number;
  private f32: Float32Array;
  private pool: ThreadPool | undefined;

  private constructor(memory: WebAssembly.Memory, ex: KernelExports) {
    this.memory = memory;
    this.ex = ex;
    this.top = align(ex.__heap_base.value as number, 64);
    this.f32 = new Float32Array(memory.buffer);
  }

  /**
   * `threads`: as resolveThreads decides (default: the cores, capped; 1 where memory cannot be
   * shared). Several threads: a shared memory (which must declare its maximum), the threaded
   * module, and the control block and the workers' stacks placed first, below the weights.
   */
  static async create(opts: { threads?: number } = {}): Promise<WasmRuntime> {
    const threads = resolveThreads(opts.threads);
    const shared = threads > 1;
    const mod = await compiled(shared ? 'mt' : 'single');
    const memory = new WebAssembly.Memory({ initial: 32, maximum: WASM_MAX_BYTES / WASM_PAGE, shared });
    const inst = await WebAssembly.instantiate(mod, { env: { memory } });
    const rt = new WasmRuntime(memory, inst.exports as unknown as KernelExports);
    if (shared) {
      const ctl = rt.reserve(4 * CTL.words);
      const stackTops = Array.from({ length: threads - 1 }, () => rt.reserve(THREAD_STACK) + THREAD_STACK);
      rt.pool = await ThreadPool.start(mod, memory, ctl, stackTops);
    }
    return rt;
  }

  /** Threads that run each matmul (the caller's included). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Ends the worker threads; the memory stays readable but matmul must not be called again. */
  close(): void {
    this.pool?.close();
    this.pool = undefined;
  }

  /** Bytes the weights placed so far occupy (from address 0, stack and statics included). */
  get weightsEnd(): number {
    return this.top;
  }

  /** Makes the memory at least `end` bytes long; past 4 GiB, WasmMemoryLimitError. */
  private ensure(end: number): void {
    if (end > WASM_MAX_BYTES) throw new WasmMemoryLimitError(end, WASM_MAX_BYTES);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / WASM_PAGE));
  }

  /** A view of the whole memory, refreshed after growth (which detaches a plain buffer; a shared one keeps its old length). */
  private floats(): Float32Array {
    const buf = this.memory.buffer;
    if (this.f32.buffer !== buf || this.f32.byteLength !== buf.byteLength) this.f32 = new Float32Array(buf);
    return this.f32;
  }

  /** Bytes [ptr, ptr + n) of the memory (valid until the next allocation). */
  bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, n);
  }

  /** Reserves n bytes permanently and returns their address. */
  private reserve(n: number): number {
    const ptr = this.top;
    this.ensure(ptr + n);
    this.top = align(ptr + n, 64);
    return ptr;
  }

  /** Places `data` permanently (weights) and returns its address. */
  place(data: Uint8Array): number {
    const ptr = this.reserve(data.length);
    this.bytes(ptr, data.length).set(data);
    return ptr;
  }

  /**
   * y[t][o] = W[o]·x[t] for t < nTok: x is copied in, quantized per block when W's type asks for
   * it (see c/quantize.c for the error this adds), and the result copied out.
   */
  matmul(y: Float32Array, x: Float32Array, w: WasmMatrix, nTok: number, nIn: number, nOut: number): void {
    const kind = ACT.get(w.type);
    if (!kind) throw new WasmLoadError(`no WASM kernel for ggml type ${w.type}`);
    const xPtr = this.top;
    const aPtr = kind === 'f32' ? xPtr : align(xPtr + 4 * nTok * nIn, 64);
    const yPtr = align(aPtr + (kind === 'f32' ? 4 * nTok * nIn : actBytes(kind, nTok * nIn)), 64);
    this.ensure(yPtr + 4 * nTok * nOut);
    const f = this.floats();
    f.set(x.subarray(0, nTok * nIn), xPtr / 4);
    if (kind === 'q32') this.ex.quantize_act32(xPtr, aPtr, nTok * nIn);
    else if (kind === 'q256') this.ex.quantize_act256(xPtr, aPtr, nTok * nIn);
    const run = (r0: number, r1: number) => this.ex.matmul(w.type, w.ptr, aPtr, yPtr, nIn, nOut, nTok, r0, r1);
    if (this.pool) this.pool.run({ type: w.type, w: w.ptr, x: aPtr, y: yPtr, nIn, nOut, nTok }, run);
    else if (run(0, nOut) !== 0) throw new WasmLoadError(`no WASM kernel for ggml type ${w.type}`);
    y.set(f.subarray(yPtr / 4, yPtr / 4 + nTok * nOut));
  }

  /**
   * Copies `ins` into scratch above the weights, runs `fn` on their addresses, and copies back the
   * first `outs` of them (the element-wise ops of c/ops.c: a copy each way is what they cost beyond
   * the op itself, as for a matmul's activations).
   */
  private scratchCall(ins: readonly (Float32Array | Float64Array)[], outs: readonly Float32Array[], fn: (ptrs: number[]) => void): void {
    let at = this.top;
    const ptrs = ins.map((a) => {
      const p = at;
      at = align(at + 4 * a.length, 64);
      return p;
    });
    this.ensure(at);
    const f = this.floats();
    ins.forEach((a, i) => f.set(a, ptrs[i]! / 4));
    fn(ptrs);
    const g = this.floats();
    outs.forEach((o, i) => o.set(g.subarray(ptrs[i]! / 4, ptrs[i]! / 4 + o.length)));
  }

  /** math.ts rmsnorm in WASM (c/ops.c). */
  rmsnorm(out: Float32Array, x: Float32Array, w: Float32Array, nTok: number, n: number, eps: number): void {
    const o = out.subarray(0, nTok * n);
    this.scratchCall([o, x.subarray(0, nTok * n), w.subarray(0, n)], [o], ([po, px, pw]) => this.ex.rmsnorm(po!, px!, pw!, nTok, n, eps));
  }

  /** math.ts rope in WASM (c/ops.c): the table's float64 angles go in as f32. */
  rope(x: Float32Array, nTok: number, nHeads: number, headDim: number, table: { cos: Float64Array; sin: Float64Array; half: number }, neox = false): void {
    const xs = x.subarray(0, nTok * nHeads * headDim);
    const n = nTok * table.half;
    this.scratchCall([xs, table.cos.subarray(0, n), table.sin.subarray(0, n)], [xs], ([px, pc, ps]) => this.ex.rope(px!, nTok, nHeads, headDim, pc!, ps!, table.half, neox ? 1 : 0));
  }

  /** math.ts swiglu / geglu in WASM (c/ops.c): gate[i] = act(gate[i]) · up[i]. */
  gated(act: 'silu' | 'gelu', gate: Float32Array, up: Float32Array, n: number): void {
    const g = gate.subarray(0, n);
    this.scratchCall([g, up.subarray(0, n)], [g], ([pg, pu]) => (act === 'silu' ? this.ex.swiglu : this.ex.geglu)(pg!, pu!, n));
  }

  /**
   * kvAttention (src/engine/cpu/kv-attention.ts) in WASM: the words of the cache that the call
   * reads are copied in at their own offsets (the cache stays in JS, where it grows by re-layout;
   * the copy is a memcpy per layer, small beside the attention's own work at any length), with q
   * and the batch's fresh K/V rows; units of (token, KV head) are split between the threads.
   */
  attention(out: Float32Array, cache: KvLayerRef, q: Float32Array, kNew: Float32Array, vNew: Float32Array, nTok: number, pos0: number, sh: AttnShape, o: AttnOptions): void {
    const L = cache.layout;
    const q0 = cache.q0(pos0);
    const grp = sh.nHead / sh.nHeadKv;
    const nAll = pos0 + nTok;
    const threads = this.threads;
    const slotFloats = grp * nAll + Math.max(sh.headDimK, sh.headDimV) + grp * sh.headDimV;
    let at = this.top;
    const take = (bytes: number) => {
      const p = at;
      at = align(at + bytes, 64);
      return p;
    };
    const ku = usedWords(L.k, q0, pos0, L.ringSlots);
    const vu = usedWords(L.v, q0, pos0, L.ringSlots);
    const P = take(4 * ATTN_PARAM_WORDS);
    const K = take(4 * (L.k.ringOff + ku.ring));
    const V = take(4 * (L.v.ringOff + vu.ring));
    const qPtr = take(4 * q.length);
    const kPtr = take(4 * nTok * L.k.dim);
    const vPtr = take(4 * nTok * L.v.dim);
    const outPtr = take(4 * nTok * sh.nHead * sh.headDimV);
    const scratch = take(4 * threads * slotFloats);
    this.ensure(at);
    const u32 = new Uint32Array(this.memory.buffer);
    const f = this.floats();
    u32.set(cache.k.subarray(0, ku.prefix), K / 4);
    u32.set(cache.k.subarray(L.k.ringOff, L.k.ringOff + ku.ring), K / 4 + L.k.ringOff);
    u32.set(cache.v.subarray(0, vu.prefix), V / 4);
    u32.set(cache.v.subarray(L.v.ringOff, L.v.ringOff + vu.ring), V / 4 + L.v.ringOff);
    f.set(q, qPtr / 4);
    f.set(kNew.subarray(0, nTok * L.k.dim), kPtr / 4);
    f.set(vNew.subarray(0, nTok * L.v.dim), vPtr / 4);
    const side = (s: KvSide) => [s.dim, s.group, s.groupWords, s.rowWords, s.ringOff, s.ringRowWords];
    const i32 = new Int32Array(this.memory.buffer, P, ATTN_PARAM_WORDS);
    i32.set([nTok, pos0, q0, sh.nHead, sh.nHeadKv, sh.headDimK, sh.headDimV, o.window ?? 0, L.bits, Math.max(1, L.ringSlots), threads, slotFloats, ...side(L.k), ...side(L.v)]);
    const f32p = new Float32Array(this.memory.buffer, P, ATTN_PARAM_WORDS);
    f32p[24] = o.scale ?? 1 / Math.sqrt(sh.headDimK);
    f32p[25] = o.softcap ?? 0;
    i32.set([outPtr, K, V, qPtr, kPtr, vPtr, scratch], 26);
    const units = nTok * sh.nHeadKv;
    const run = (u0: number, u1: number) => this.ex.matmul(ATTENTION, P, 0, 0, 0, units, 0, u0, u1);
    if (this.pool) this.pool.run({ type: ATTENTION, w: P, x: 0, y: 0, nIn: 0, nOut: units, nTok: 0 }, run);
    else if (run(0, units) !== 0) throw new WasmLoadError('the WASM attention failed (a GQA group over 64 heads?)');
    out.set(this.floats().subarray(outPtr / 4, outPtr / 4 + nTok * sh.nHead * sh.headDimV));
  }
}

/** Words of one side's buffer that a call at pos0 reads: the quantized rows below q0, and the ring's used slots. */
function usedWords(s: KvSide, q0: number, pos0: number, slots: number): { prefix: number; ring: number } {
  return { prefix: q0 * s.rowWords, ring: Math.min(pos0, slots) * s.ringRowWords };
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
