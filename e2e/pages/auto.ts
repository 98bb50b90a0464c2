// `auto`'s calibration in a real browser: chooseAuto with this browser's WASM and WebGPU slices of
// the demo model and the app's IndexedDB cache (<db>-calibration). The probe is told the adapter is
// hardware, so the calibration itself runs even on SwiftShader and lavapipe, which the app skips as
// fallback adapters (e2e/auto-backend.spec.ts checks that). Called twice: the second answer must
// come from the cache; a reload of the page with the same ?db= must too. The spec reads window.__auto.
import { autoProbe, chooseAuto, type AutoDecision, type SliceMaker } from '../../src/engine/auto/index.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { createWasmBackend, WASM_CPU_PATH } from '../../src/engine/wasm/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { browserEnvironment, probeCapabilities } from '../../src/gpu/capabilities.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { idbCalibrationCache } from '../../src/workers/calibration-cache.ts';

export interface AutoPageResult {
  adapter?: string;
  fallbackAdapter?: boolean;
  calls?: { decision: AutoDecision; made: string[] }[];
  error?: { name: string; message: string };
}

async function run(): Promise<AutoPageResult> {
  const db = new URLSearchParams(location.search).get('db') ?? 'auto-page';
  const caps = await probeCapabilities(browserEnvironment());
  if (!caps.webgpu) return { error: { name: 'NoWebGPU', message: caps.message } };
  const bytes = new Uint8Array(await (await fetch('../../models/stories260K.gguf')).arrayBuffer());
  const file = parseGguf(bytes);
  const src = bytesSource(bytes);
  const rt = await GpuRuntime.create(browserEnvironment());
  const probe = autoProbe(caps);
  const calls: { decision: AutoDecision; made: string[] }[] = [];
  for (let i = 0; i < 2; i++) {
    const made: string[] = [];
    const makeCpu: SliceMaker = (to, signal) => { made.push(`cpu ${to}`); return createWasmBackend(file, src, { layers: [0, to], embed: false, head: false, nCtx: 16, signal }); };
    const makeGpu: SliceMaker = (to, signal) => { made.push(`gpu ${to}`); return createGpuBackend(file, src, { runtime: rt, layerRange: [0, to], embedding: false, head: false, nCtx: 16, signal }); };
    const decision = await chooseAuto({
      probe: { ...probe, fallbackAdapter: false }, adapter: caps.adapter, cpuPath: WASM_CPU_PATH, file,
      cache: idbCalibrationCache(db), makeCpu, makeGpu,
    });
    calls.push({ decision, made });
  }
  rt.destroy();
  return { adapter: probe.adapterName, fallbackAdapter: probe.fallbackAdapter, calls };
}

const status = document.getElementById('status')!;
run().then(
  (r) => {
    (window as unknown as { __auto: AutoPageResult }).__auto = r;
    status.textContent = r.error ? `error: ${r.error.message}` : r.calls!.map((c) => c.decision.reason).join('\n');
  },
  (e: Error) => {
    (window as unknown as { __auto: AutoPageResult }).__auto = { error: { name: e.name, message: e.message } };
    status.textContent = `error: ${e.name}: ${e.message}`;
  },
);
