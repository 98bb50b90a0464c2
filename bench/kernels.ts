// Kernel bandwidth on the current adapter (Dawn in Node): copy vs f32 matvec, side by side in one
// run. The measurement lives in src/gpu/bench/kernels.ts, shared with the browser bench page.
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { runKernelBench } from '../src/gpu/bench/kernels.ts';

export async function run(args: string[]) {
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const adapter = rt.report.adapter;
  console.log(`adapter: ${adapter?.vendor} ${adapter?.architecture} ${adapter?.description}`);
  try {
    return await runKernelBench(rt, { quick: args.includes('--quick'), log: (l) => console.log(l) });
  } finally {
    rt.destroy();
  }
}
