// The CPU paths side by side in one run: the TypeScript reference (weights dequantized to f32)
// and the WASM SIMD128 backend (weights quantized as stored), on a TinyLlama-shaped synthetic
// model (bench/_synthetic.ts) with its layers cut, per weight type: prefill and decode tok/s, the
// ratios, weight memory as each backend reports it against the file's tensor bytes, and the
// process's RSS growth while the backend loads (the heap measured, not just the report).
//   npm run bench -- cpu [--layers N] [--types q4_k,q2_k] [--prefill N] [--decode N]
import { rmSync, writeFileSync } from 'node:fs';
import { readGgufHeader } from '../src/formats/gguf-reader.ts';
import { fileRangeSource } from '../src/formats/range-source-node.ts';
import type { Backend } from '../src/engine/backend.ts';
import { createCpuBackend } from '../src/engine/cpu/index.ts';
import { createWasmBackend } from '../src/engine/wasm/index.ts';
import { ggmlTypeByName } from '../src/quant/ggml-types.ts';
import { SHAPES, syntheticGguf } from './_synthetic.ts';

const MiB = 2 ** 20;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function speed(be: Backend, prefill: number, decode: number): Promise<{ prefillTps: number; decodeTps: number }> {
  const toks = Array.from({ length: prefill }, (_, i) => 300 + ((i * 7919) % 1000));
  let t = performance.now();
  await be.forward(toks, 0);
  const prefillTps = prefill / ((performance.now() - t) / 1000);
  await be.forward([301], prefill); // warm-up step, not timed
  t = performance.now();
  for (let i = 0; i < decode; i++) await be.forward([300 + ((i * 31) % 1000)], prefill + 1 + i);
  return { prefillTps, decodeTps: decode / ((performance.now() - t) / 1000) };
}

export async function run(args: string[]) {
  const layers = Number(arg(args, '--layers') ?? 4);
  const prefill = Number(arg(args, '--prefill') ?? 16);
  const decode = Number(arg(args, '--decode') ?? 16);
  const shape = { ...SHAPES.tinyllama!, nLayer: layers };
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const rows: Record<string, unknown>[] = [];
  for (const tname of (arg(args, '--types') ?? 'q4_k,q2_k').split(',')) {
    const type = ggmlTypeByName(tname)!.id;
    const path = `/tmp/tabshard-bench-cpu-${layers}-${tname}.gguf`;
    writeFileSync(path, syntheticGguf(shape, type));
    const src = await fileRangeSource(path);
    const file = await readGgufHeader(src);
    const tensorBytes = file.tensors.reduce((s, t) => s + t.byteSize, 0);
    const row: Record<string, unknown> = { type: tname, layers, fileMiB: src.size / MiB, tensorMiB: tensorBytes / MiB };
    // WASM first: RSS rarely shrinks after a dispose, so the second backend's growth is understated;
    // that errs against the reference's figure, never against ours.
    for (const [name, create] of [['wasm', createWasmBackend], ['reference', createCpuBackend]] as const) {
      gc();
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const be = await create(file, src, { nCtx: 256 });
      const loadSeconds = (performance.now() - t0) / 1000;
      gc();
      const rssGrowth = process.memoryUsage().rss - rss0;
      const s = await speed(be, prefill, decode);
      const weights = be.memory().weights;
      row[name] = { ...s, loadSeconds, weightsMiB: weights / MiB, weightsVsFile: weights / tensorBytes, rssGrowthMiB: rssGrowth / MiB };
      console.log(`${tname} ${layers} layers ${name.padEnd(9)}: prefill ${s.prefillTps.toFixed(2)} tok/s, decode ${s.decodeTps.toFixed(2)} tok/s, `
        + `weights ${(weights / MiB).toFixed(0)} MiB (${(weights / tensorBytes).toFixed(2)}x the file's ${(tensorBytes / MiB).toFixed(0)} MiB), RSS +${(rssGrowth / MiB).toFixed(0)} MiB, load ${loadSeconds.toFixed(1)} s`);
      be.dispose();
    }
    const ref = row.reference as { prefillTps: number; decodeTps: number };
    const wasm = row.wasm as { prefillTps: number; decodeTps: number };
    row.wasmOverReference = { prefill: wasm.prefillTps / ref.prefillTps, decode: wasm.decodeTps / ref.decodeTps };
    console.log(`${tname}: wasm / reference: prefill ${(wasm.prefillTps / ref.prefillTps).toFixed(1)}x, decode ${(wasm.decodeTps / ref.decodeTps).toFixed(1)}x`);
    rows.push(row);
    await src.close();
    rmSync(path, { force: true });
  }
  return { shape: 'tinyllama', nLayer: layers, prefill, decode, threads: 1, rows };
}
