// Quantized matvec bandwidth per weight type and shape (Dawn in Node), side by side in one run.
// The measurement lives in src/gpu/bench/quant.ts, shared with the browser bench page.
//   npm run bench -- quant [--quick] [--big]
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { runQuantBench } from '../src/gpu/bench/quant.ts';

export async function run(args: string[]) {
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const a = rt.report.adapter;
  console.log(`adapter: ${a?.vendor} ${a?.architecture} ${a?.description}; subgroups ${rt.has('subgroups')}`);
  try {
    return await runQuantBench(rt, { quick: args.includes('--quick'), big: args.includes('--big'), log: (l) => console.log(l) });
  } finally {
    rt.destroy();
  }
}
