// The WASM kernels module (kernels.wasm, built from ./c by scripts/build-wasm.ts) and the memory it
// computes in. Weights are placed once, quantized as stored, by a bump allocator from __heap_base;
// per-call scratch (activations in, results out) lives above them and is reused. The memory is
// created here (imported by the module) so its growth and its 4 GiB ceiling are decided in one place.
import { GgmlType } from '../../quant/ggml-types.ts';
import { WasmLoadError, WasmMemoryLimitError } from './errors.ts';

export const WASM_PAGE = 65536;
/** wasm32 addresses 2^32 bytes: 65536 pages. */
export const WASM_MAX_BYTES = 2 ** 32;

interface KernelExports {
  __heap_base: WebAssembly.Global;
  matmul(type: number, w: number, x: number, y: number, nIn: number, nOut: number, nTok: number, r0: number, r1: number): number;
  quantize_act32(x: number, y: number, n: number): void;
  quantize_act256(x: number, y: number, n: number): void;
}

/** How a weight type wants its activations: f32 rows, or int8 blocks of 32 or 256 (act32/act256 in c/common.h). */
export type ActKind = 'f32' | 'q32' | 'q256';
const ACT: ReadonlyMap<number, ActKind> = new Map([
  [GgmlType.F32, 'f32'], [GgmlType.F16, 'f32'], [GgmlType.Q4_0, 'q32'], [GgmlType.Q8_0, 'q32'],
  [GgmlType.Q2_K, 'q256'], [GgmlType.Q3_K, 'q256'], [GgmlType.Q4_K, 'q256'], [GgmlType.Q5_K, 'q256'], [GgmlType.Q6_K, 'q256'],
]);

/** Bytes of the quantized activations of n floats. */
function actBytes(kind: ActKind, n: number): number {
  return kind === 'f32' ? 4 * n : kind === 'q32' ? (n / 32) * 36 : (n / 256) * 292;
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

let wasmModule: Promise<WebAssembly.Module> | undefined;

/** The compiled module, once per thread. Node reads the file; browsers fetch the asset Vite emits. */
function compiled(): Promise<WebAssembly.Module> {
  wasmModule ??= (async () => {
    const url = new URL('./kernels.wasm', import.meta.url);
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
      wasmModule = undefined;
      throw new WasmLoadError(`cannot load the WASM kernels (${(err as Error).message})`, { cause: err });
    }
  })();
  return wasmModule;
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  private readonly ex: KernelExports;
  /** End of the permanent (weights) allocations. */
  private top: number;
  private f32: Float32Array;

  private constructor(memory: WebAssembly.Memory, ex: KernelExports) {
    this.memory = memory;
    this.ex = ex;
    this.top = align(ex.__heap_base.value as number, 64);
    this.f32 = new Float32Array(memory.buffer);
  }

  static async create(): Promise<WasmRuntime> {
    const mod = await compiled();
    const memory = new WebAssembly.Memory({ initial: 32, maximum: WASM_MAX_BYTES / WASM_PAGE });
    const inst = await WebAssembly.instantiate(mod, { env: { memory } });
    return new WasmRuntime(memory, inst.exports as unknown as KernelExports);
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

  /** A view of the whole memory, refreshed after growth (growing detaches the old buffer). */
  private floats(): Float32Array {
    if (this.f32.buffer !== this.memory.buffer) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /** Bytes [ptr, ptr + n) of the memory (valid until the next allocation). */
  bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, n);
  }

  /** Places `data` permanently (weights) and returns its address. */
  place(data: Uint8Array): number {
    const ptr = this.top;
    this.ensure(ptr + data.length);
    this.bytes(ptr, data.length).set(data);
    this.top = align(ptr + data.length, 64);
    return ptr;
  }

  /**
   * y[t][o] = W[o]·x[t] for t < nTok: x is copied in, quantized per block when W's type asks for
   * it (see c/quantize.c for the error this adds), and the result copied out.
   */
  matmul(y: Float32Array, x: Float32Array, w: WasmMatrix, nTok: number, nIn: number, nOut: number): void {
    const kind = ACT.get(w.type)!;
    const xPtr = this.top;
    const aPtr = kind === 'f32' ? xPtr : align(xPtr + 4 * nTok * nIn, 64);
    const yPtr = align(aPtr + (kind === 'f32' ? 4 * nTok * nIn : actBytes(kind, nTok * nIn)), 64);
    this.ensure(yPtr + 4 * nTok * nOut);
    const f = this.floats();
    f.set(x.subarray(0, nTok * nIn), xPtr / 4);
    if (kind === 'q32') this.ex.quantize_act32(xPtr, aPtr, nTok * nIn);
    else if (kind === 'q256') this.ex.quantize_act256(xPtr, aPtr, nTok * nIn);
    if (this.ex.matmul(w.type, w.ptr, aPtr, yPtr, nIn, nOut, nTok, 0, nOut) !== 0) throw new WasmLoadError(`no WASM kernel for ggml type ${w.type}`);
    y.set(f.subarray(yPtr / 4, yPtr / 4 + nTok * nOut));
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
