// One worker thread of the WASM CPU backend (browser Worker or Node worker_threads): it instantiates
// kernels-mt.wasm over the backend's shared memory, then loops on the control block (pool.ts)
// without any messages: wait for the job counter to move, run its share of the matmul's rows, count
// itself done. Spins briefly before sleeping in Atomics.wait, since the next matmul of a token
// usually follows within microseconds and a futex wake-up costs tens of them.
// Imports only ctl.ts: Node runs this file as it is (type stripping), Vite bundles it for browsers.
// Never imported by the main thread: its entry code below would take over the importing worker.
import { CTL, threadRows } from './ctl.ts';

/** Polls of the job counter before sleeping (~20-50 µs on this machine kind). */
const SPINS = 20_000;

export interface ThreadInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte address of the control block (CTL.words Int32s). */
  ctl: number;
  /** Top of this thread's own stack in the shared memory. */
  stackTop: number;
  /** 1..nThreads-1: the caller's thread is 0. */
  index: number;
}

interface Exports {
  __stack_pointer: WebAssembly.Global;
  matmul(type: number, w: number, x: number, y: number, nIn: number, nOut: number, nTok: number, r0: number, r1: number): number;
}

async function serve(init: ThreadInit, ready: () => void): Promise<void> {
  const inst = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
  const ex = inst.exports as unknown as Exports;
  ex.__stack_pointer.value = init.stackTop;
  // A view of the control block only: it never needs refreshing when the memory grows.
  const c = new Int32Array(init.memory.buffer, init.ctl, CTL.words);
  let seen = Atomics.load(c, CTL.gen);
  ready();
  for (;;) {
    let spins = 0;
    while (Atomics.load(c, CTL.gen) === seen) {
      if (++spins > SPINS) {
        Atomics.wait(c, CTL.gen, seen);
        spins = 0;
      }
    }
    seen = Atomics.load(c, CTL.gen);
    if (Atomics.load(c, CTL.stop)) return;
    const n = c[CTL.nOut]!, t = c[CTL.nThreads]!;
    const [r0, r1] = threadRows(init.index, n, t);
    try {
      if (r1 > r0 && ex.matmul(c[CTL.type]!, c[CTL.w]!, c[CTL.x]!, c[CTL.y]!, c[CTL.nIn]!, n, c[CTL.nTok]!, r0, r1) !== 0) Atomics.store(c, CTL.failed, 1);
    } catch {
      Atomics.store(c, CTL.failed, 1); // a trap: the caller throws; this thread keeps serving
    }
    if (Atomics.sub(c, CTL.pending, 1) === 1) Atomics.notify(c, CTL.pending);
  }
}

// Entry: Node's worker_threads (parentPort) or a browser worker (self).
const nodeThreads = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:worker_threads') as
  typeof import('node:worker_threads') | undefined;
if (nodeThreads && !nodeThreads.isMainThread && nodeThreads.workerData?.tabshardWasmThread) {
  const port = nodeThreads.parentPort!;
  void serve(nodeThreads.workerData.init as ThreadInit, () => port.postMessage('ready'));
} else if (!nodeThreads && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (e: MessageEvent) => {
    const data = e.data as { tabshardWasmThread?: boolean; init: ThreadInit };
    if (!data?.tabshardWasmThread) return;
    scope.onmessage = null;
    void serve(data.init, () => scope.postMessage('ready'));
  };
}
