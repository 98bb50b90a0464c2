// Worker threads for the WASM kernels: n-1 workers (thread.ts) plus the caller share each matmul's
// rows over one shared WebAssembly.Memory. A job is handed over through the control block (ctl.ts)
// with Atomics only: no postMessage per matmul, so a decode token's ~150 matmuls cost no message
// round trips. Node uses worker_threads (the CLI's cpu backend), browsers module Workers, which
// need a cross-origin-isolated page (SharedArrayBuffer); see threads.ts for who decides the count.
import { CTL, threadRows } from './ctl.ts';
import { WasmThreadError } from './errors.ts';
import type { ThreadInit } from './thread.ts';

/** Polls of `pending` before the caller sleeps; its own share usually ends close to the others'. */
const SPINS = 20_000;

interface ThreadHandle {
  terminate(): unknown;
}

type NodeThreads = typeof import('node:worker_threads');

function nodeThreads(): NodeThreads | undefined {
  return (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:worker_threads') as NodeThreads | undefined;
}

/** Starts one thread and resolves once it has instantiated the module and watches the block. */
function spawn(init: ThreadInit): Promise<ThreadHandle> {
  return new Promise((resolve, reject) => {
    const wt = nodeThreads();
    const fail = (err: unknown) => reject(new WasmThreadError(`a WASM worker thread failed to start (${(err as Error)?.message ?? err})`, { cause: err }));
    if (wt) {
      // A non-literal URL, so that Vite does not treat this branch as a worker to bundle.
      const entry = './thread.ts';
      const w = new wt.Worker(new URL(entry, import.meta.url), { workerData: { tabshardWasmThread: true, init } });
      w.unref(); // the CLI exits when its work is done, whatever the threads are waiting for
      w.once('message', () => resolve(w));
      w.once('error', fail);
      return;
    }
    const w = new Worker(new URL('./thread.ts', import.meta.url), { type: 'module' });
    w.onmessage = () => resolve(w);
    w.onerror = (e) => fail(e.message);
    w.postMessage({ tabshardWasmThread: true, init });
  });
}

export interface MatmulJob {
  type: number;
  w: number;
  x: number;
  y: number;
  nIn: number;
  nOut: number;
  nTok: number;
}

export class ThreadPool {
  /**
   * How long the caller waits for the other threads beyond max(this, 100x its own share's time)
   * before it decides one of them is gone (a worker that crashed or was killed never counts
   * itself done, and no event can reach a caller that is spinning): then a WasmThreadError, and the
   * pool refuses further work instead of hanging the tab or the CLI.
   */
  static stallMs = 10_000;
  readonly threads: number;
  private broken: string | undefined;
  private readonly c: Int32Array;
  private readonly handles: ThreadHandle[];
  /** Atomics.wait throws on a browser's main thread: there the caller only spins. */
  private readonly canWait: boolean;

  private constructor(c: Int32Array, handles: ThreadHandle[]) {
    this.c = c;
    this.handles = handles;
    this.threads = handles.length + 1;
    let canWait = true;
    try {
      Atomics.wait(c, CTL.failed, 1, 0); // returns 'not-equal' at once where waiting is allowed
    } catch {
      canWait = false;
    }
    this.canWait = canWait;
  }

  /** n-1 threads over `memory`; `ctl` is CTL.words Int32s there, `stackTops` one stack per thread. */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, ctl: number, stackTops: number[]): Promise<ThreadPool> {
    const c = new Int32Array(memory.buffer, ctl, CTL.words);
    c.fill(0);
    const settled = await Promise.allSettled(stackTops.map((stackTop, i) => spawn({ module, memory, ctl, stackTop, index: i + 1 })));
    const handles = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      for (const h of handles) void h.terminate();
      throw (failed as PromiseRejectedResult).reason;
    }
    return new ThreadPool(c, handles);
  }

  /** Runs `job` split by rows: the workers' shares through the block, share 0 by `own` here. */
  run(job: MatmulJob, own: (r0: number, r1: number) => number): void {
    if (this.broken) throw new WasmThreadError(this.broken);
    const c = this.c;
    c[CTL.type] = job.type; c[CTL.w] = job.w; c[CTL.x] = job.x; c[CTL.y] = job.y;
    c[CTL.nIn] = job.nIn; c[CTL.nOut] = job.nOut; c[CTL.nTok] = job.nTok; c[CTL.nThreads] = this.threads;
    Atomics.store(c, CTL.failed, 0);
    Atomics.store(c, CTL.pending, this.threads - 1);
    // The plain stores above happen before this (sequentially consistent) add, which the threads read.
    Atomics.add(c, CTL.gen, 1);
    Atomics.notify(c, CTL.gen);
    const [r0, r1] = threadRows(0, job.nOut, this.threads);
    const t0 = performance.now();
    const status = r1 > r0 ? own(r0, r1) : 0;
    const t1 = performance.now();
    const deadline = t1 + Math.max(ThreadPool.stallMs, 100 * (t1 - t0));
    let spins = 0;
    for (let p = Atomics.load(c, CTL.pending); p !== 0; p = Atomics.load(c, CTL.pending)) {
      if (++spins > SPINS) {
        spins = 0;
        if (performance.now() > deadline) {
          this.broken = `a WASM worker thread stopped answering (${p} of ${this.threads - 1} did not finish a ${job.type === 1000 ? 'attention' : 'matmul'} within ${Math.round(deadline - t1)} ms); reload to start the CPU backend again`;
          throw new WasmThreadError(this.broken);
        }
        // Sleep in slices, so that the deadline is checked even while waiting.
        if (this.canWait) Atomics.wait(c, CTL.pending, p, 50);
      }
    }
    if (status !== 0 || Atomics.load(c, CTL.failed)) throw new WasmThreadError(`the WASM matmul failed for ggml type ${job.type}`);
  }

  /** Stops and ends the threads (they are between jobs: run() returns only when all are done). */
  close(): void {
    Atomics.store(this.c, CTL.stop, 1);
    Atomics.add(this.c, CTL.gen, 1);
    Atomics.notify(this.c, CTL.gen);
    for (const h of this.handles) void h.terminate();
    this.handles.length = 0;
  }
}
