// Kernel bandwidth on the current adapter, side by side in one run: the copy kernel (the yardstick:
// bytes read + written per second) and the f32 matvec (weight bytes per second), and their ratio.
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { prepareCopy } from '../src/gpu/kernels/copy.ts';
import { prepareMatvecF32 } from '../src/gpu/kernels/matvec-f32.ts';
import { median, timePass } from '../src/gpu/timing.ts';
import type { PreparedDispatch } from '../src/gpu/dispatch.ts';

const MiB = 2 ** 20;

async function measure(rt: GpuRuntime, d: PreparedDispatch, iterations: number, repeats: number) {
  await timePass(rt, (p) => d.encode(p), 1); // warm-up (pipeline, first-touch)
  const times: number[] = [];
  let method = '';
  for (let i = 0; i < repeats; i++) {
    const t = await timePass(rt, (p) => d.encode(p), iterations);
    times.push(t.seconds);
    method = t.method;
  }
  return { seconds: median(times), method };
}

export async function run(args: string[]) {
  const quick = args.includes('--quick');
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const adapter = rt.report.adapter;
  console.log(`adapter: ${adapter?.vendor} ${adapter?.architecture} ${adapter?.description}`);
  const copyBytes = (quick ? 16 : 64) * MiB;
  const src = rt.pool.acquire(copyBytes, 'bench', 'copy.src');
  const dst = rt.pool.acquire(copyBytes, 'bench', 'copy.dst');
  const copy = await measure(rt, await prepareCopy(rt, src, dst, copyBytes), 4, 5);
  const copyBw = (2 * copyBytes) / copy.seconds;
  console.log(`copy ${copyBytes / MiB} MiB: ${(copyBw / 1e9).toFixed(2)} GB/s (read+written), ${copy.method}`);
  rt.pool.destroy(src);
  rt.pool.destroy(dst);

  const shapes: [number, number][] = quick ? [[2048, 2048]] : [[2048, 2048], [4096, 4096], [8192, 2048]];
  const matvec = [];
  for (const [rows, cols] of shapes) {
    const w = rt.pool.acquire(rows * cols * 4, 'bench', 'w');
    const x = rt.pool.acquire(cols * 4, 'bench', 'x');
    const y = rt.pool.acquire(rows * 4, 'bench', 'y');
    for (const subgroups of rt.has('subgroups') ? [false, true] : [false]) {
      const m = await measure(rt, await prepareMatvecF32(rt, w, x, y, rows, cols, { subgroups }), 4, 5);
      const bw = (rows * cols * 4) / m.seconds;
      const row = { rows, cols, subgroups, seconds: m.seconds, weightBytesPerSecond: bw, fractionOfCopy: bw / copyBw, method: m.method };
      matvec.push(row);
      console.log(`matvec f32 ${rows}x${cols}${subgroups ? ' subgroups' : ''}: ${(bw / 1e9).toFixed(2)} GB/s of weights = ${(100 * row.fractionOfCopy).toFixed(0)}% of copy bandwidth`);
    }
    rt.pool.destroy(w);
    rt.pool.destroy(x);
    rt.pool.destroy(y);
  }
  const result = {
    adapter,
    features: [...rt.features].sort(),
    copy: { bytes: copyBytes, seconds: copy.seconds, bytesPerSecond: copyBw, method: copy.method },
    matvec,
  };
  rt.destroy();
  return result;
}
