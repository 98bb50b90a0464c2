// `tabshard caps`: the capability report of Dawn in Node (the adapter, its features and limits).
import { parse } from '../args.ts';
import { probeCapabilities, reportFromAdapter, requestAdapter } from '../../gpu/capabilities.ts';
import { nodeGpuEnvironment } from '../../gpu/node.ts';

export const summary = 'print the WebGPU capability report (Dawn in Node) as JSON';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { help: { type: 'boolean', short: 'h' } }, 'tabshard caps');
  if (values.help) {
    console.log('usage: tabshard caps\nPrints adapter info, features and limits as JSON. The Vulkan driver is chosen by VK_ICD_FILENAMES.');
    return 0;
  }
  const env = await nodeGpuEnvironment();
  const report = await probeCapabilities(env);
  if (report.webgpu) {
    // The full limit set is useful on the CLI; the app shows the wanted subset.
    const adapter = await requestAdapter(env);
    const all: Record<string, number> = {};
    for (const k in adapter.limits) {
      const v = (adapter.limits as unknown as Record<string, unknown>)[k];
      if (typeof v === 'number') all[k] = v;
    }
    console.log(JSON.stringify({ ...reportFromAdapter(adapter), allLimits: all }, null, 2));
  } else {
    console.log(JSON.stringify(report, null, 2));
  }
  return report.webgpu ? 0 : 3;
}
