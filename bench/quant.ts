// Quantized matvec bandwidth per weight type and shape, side by side in one run on one adapter;
// where the device has `shader-f16`, the f16 variant beside the f32 one as a time ratio.
// The measurement lives in src/gpu/bench/quant.ts, shared with the browser bench page.
//   npm run bench -- quant [--quick] [--big]            Dawn in Node (SwiftShader here: no shader-f16)
//   npm run bench -- quant --quick --browser firefox    the bench page (bench.html) in headless Firefox
//     on Mesa lavapipe, which offers shader-f16 here; needs `npm run build` first. Also: chromium.
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { runQuantBench, type QuantBenchResult } from '../src/gpu/bench/quant.ts';
import { benchPage } from './_page.ts';

export async function run(args: string[]) {
  const i = args.indexOf('--browser');
  if (i >= 0) return inBrowser(args[i + 1], args.includes('--quick'));
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const a = rt.report.adapter;
  console.log(`adapter: ${a?.vendor} ${a?.architecture} ${a?.description}; subgroups ${rt.has('subgroups')}, shader-f16 ${rt.has('shader-f16')}`);
  try {
    const r = await runQuantBench(rt, { quick: args.includes('--quick'), big: args.includes('--big'), log: (l) => console.log(l) });
    printF16Table(r);
    return r;
  } finally {
    rt.destroy();
  }
}

function printF16Table(r: QuantBenchResult): void {
  if ('skipped' in r.f16Variant) {
    console.log(`f16 variant vs f32 variant: not measured here (${r.f16Variant.skipped})`);
    return;
  }
  console.log('\nf16 variant vs f32 variant (same tensors, same run):');
  console.log('type  shape        f32 variant   f16 variant   f16/f32 time');
  for (const x of r.f16Variant.rows) {
    const ms = (s: number) => `${(s * 1e3).toFixed(3)} ms`.padEnd(14);
    console.log(`${x.type.padEnd(5)} ${`${x.rows}x${x.cols}`.padEnd(12)} ${ms(x.f32Seconds)}${ms(x.f16Seconds)}${x.timeVsF32Variant.toFixed(2)}x`);
  }
}

/** The bench page's quant suite in a headless browser (Firefox on lavapipe has shader-f16 here). */
async function inBrowser(name: string | undefined, quick: boolean) {
  const { browser, version, report } = await benchPage(name, ['quant'], quick);
  if (!report.quant || 'error' in report.quant) throw new Error(`quant suite failed: ${report.quant ? report.quant.error.message : 'no result'}`);
  const q = report.quant;
  console.log(`${browser} ${version}: adapter ${JSON.stringify(q.adapter)}; features ${q.features.join(' ')}`);
  for (const x of q.matvec) console.log(`${x.type} ${x.rows}x${x.cols}: ${(100 * x.fractionOfCopy).toFixed(0)}% copy, ${x.timeVsF16.toFixed(2)}x F16 time`);
  printF16Table(q);
  return { browser: name, version, userAgent: report.userAgent, ...q };
}
