// Quantized matvec bandwidth per weight type and shape, side by side in one run on the current
// adapter: weight bytes read / time, as a fraction of the copy kernel's bandwidth (the yardstick,
// bytes read + written / time, measured in the same run), and time relative to the F16 kernel.
// Inputs are random blocks (every bit pattern of the quantized fields); several copies of each
// weight matrix rotate so the working set exceeds caches.
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { nodeGpuEnvironment } from '../src/gpu/node.ts';
import { prepareCopy } from '../src/gpu/kernels/copy.ts';
import { prepareMatvecQ } from '../src/gpu/kernels/matmul-q.ts';
import { releaseQuantTensor, uploadQuantTensor, type QuantTensor } from '../src/gpu/kernels/quant-tensor.ts';
import { randomTensorBytes } from '../src/gpu/quant-checks.ts';
import { median, timePass } from '../src/gpu/timing.ts';
import type { PreparedDispatch } from '../src/gpu/dispatch.ts';
import { rng } from '../src/util/random.ts';

const MiB = 2 ** 20;
const TYPES: [string, number][] = [['F16', 1], ['Q8_0', 8], ['Q6_K', 14], ['Q4_K', 12], ['Q3_K', 11], ['Q2_K', 10]];

async function timeIt(rt: GpuRuntime, ds: PreparedDispatch[], iterations: number, repeats: number) {
  await timePass(rt, (p, i) => ds[i % ds.length].encode(p), ds.length);
  const times: number[] = [];
  let method = '';
  for (let r = 0; r < repeats; r++) {
    const t = await timePass(rt, (p, i) => ds[i % ds.length].encode(p), iterations);
    times.push(t.seconds);
    method = t.method;
  }
  return { seconds: median(times), method };
}

export async function run(args: string[]) {
  const quick = args.includes('--quick');
  const big = args.includes('--big');
  const rt = await GpuRuntime.create(await nodeGpuEnvironment());
  const a = rt.report.adapter;
  console.log(`adapter: ${a?.vendor} ${a?.architecture} ${a?.description}; subgroups ${rt.has('subgroups')}`);

  const copyBytes = (quick ? 16 : 64) * MiB;
  const s = rt.pool.acquire(copyBytes, 'bench', 'src');
  const d = rt.pool.acquire(copyBytes, 'bench', 'dst');
  const copy = await timeIt(rt, [await prepareCopy(rt, s, d, copyBytes)], 4, 5);
  const copyBw = (2 * copyBytes) / copy.seconds;
  rt.pool.destroy(s);
  rt.pool.destroy(d);
  console.log(`copy: ${(copyBw / 1e9).toFixed(2)} GB/s (read + written), ${copy.method}`);

  const shapes: [number, number][] = quick ? [[2048, 2048]] : [[2048, 2048], [8192, 2048], [2048, 8192]];
  if (big) shapes.push([4096, 4096], [14336, 4096]);
  const next = rng(42);
  const rows: Record<string, unknown>[] = [];
  for (const [R, C] of shapes) {
    let f16Seconds = 0;
    const line: string[] = [];
    for (const [name, type] of TYPES) {
      const bytes = randomTensorBytes(type, R, C, next);
      // Rotate copies so one pass reads more than a 60 MB L2 (and SwiftShader's caches).
      const copies = Math.max(1, Math.min(4, Math.ceil((96 * MiB) / bytes.byteLength)));
      const ts: QuantTensor[] = [];
      for (let i = 0; i < copies; i++) ts.push(await uploadQuantTensor(rt, type, R, C, (o, l) => bytes.subarray(o, o + l), { category: 'bench' }));
      const x = rt.pool.acquire(C * 4, 'bench', 'x');
      const y = rt.pool.acquire(R * 4, 'bench', 'y');
      const ds = await Promise.all(ts.map((t) => prepareMatvecQ(rt, t, x, y)));
      const m = await timeIt(rt, ds, quick ? 4 : 8, 5);
      if (name === 'F16') f16Seconds = m.seconds;
      const bw = bytes.byteLength / m.seconds;
      const row = {
        type: name,
        rows: R,
        cols: C,
        weightBytes: bytes.byteLength,
        seconds: m.seconds,
        weightBytesPerSecond: bw,
        fractionOfCopy: bw / copyBw,
        timeVsF16: m.seconds / f16Seconds,
        method: m.method,
      };
      rows.push(row);
      line.push(`${name} ${(100 * row.fractionOfCopy).toFixed(0)}% copy, ${row.timeVsF16.toFixed(2)}x F16 time`);
      for (const d2 of ds) d2.release();
      for (const t of ts) releaseQuantTensor(rt, t);
      rt.pool.destroy(x);
      rt.pool.destroy(y);
    }
    console.log(`${R}x${C}: ${line.join(' | ')}`);
  }
  const q2 = rows.filter((r) => r.type === 'Q2_K');
  const q4 = rows.filter((r) => r.type === 'Q4_K');
  const speedup = q2.map((r, i) => ({ shape: `${r.rows}x${r.cols}`, q2kVsQ4k: (q4[i].seconds as number) / (r.seconds as number) }));
  console.log(`Q2_K speed vs Q4_K: ${speedup.map((s2) => `${s2.shape} ${s2.q2kVsQ4k.toFixed(2)}x`).join(', ')}`);
  const result = { adapter: a, features: [...rt.features].sort(), copy: { bytes: copyBytes, bytesPerSecond: copyBw, method: copy.method }, matvec: rows, q2kVsQ4k: speedup };
  rt.destroy();
  return result;
}
