// The WebGPU engine on the quantized fixture models (test/fixtures, served to this page by the
// Playwright spec through page.route) with the quantized matvec/matmul variant this browser's device
// chooses where that is the f16 one (`shader-f16`: Firefox on lavapipe here); `?ab` also runs the
// f32 variant (shader-f16 disabled) for comparison. Without shader-f16 nothing runs unless `?f32`
// asks: the f32 variant's engine checks are Node's test/engine-gpu. Against the fixtures'
// float64 reference: every position's greedy choice over the reference sequence (prefill: the
// matmul kernel), greedy decoding one token at a time for DECODE_STEPS (the matvec kernel; each
// step is a full forward and a readback, slow on a CPU-emulated adapter), and the largest logit
// error. The spec reads window.__engineChecks.
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { browserEnvironment } from '../../src/gpu/capabilities.ts';
import { createGpuBackend } from '../../src/engine/gpu/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';

export interface EngineCheck {
  model: string;
  variant: 'f16' | 'f32';
  /** Positions whose argmax differs from the reference's (prefill over the reference sequence). */
  prefillMismatches: number[];
  /** Greedy decode from the prompt: tokens generated before the first difference, of how many. */
  decodeAgree: number;
  decodeSteps: number;
  /** max over positions of max|ours - ref| / max|ref| (prefill logits). */
  relLogitError: number;
}

interface PageResult {
  features?: string[];
  checks?: EngineCheck[];
  skipped?: string;
  error?: { name: string; message: string };
}

interface Ref {
  input_tokens: number[];
  prompt_tokens: number[];
  generated_tokens: number[];
  argmax: number[];
}

const status = document.getElementById('status')!;
const MODELS = ['q2_k', 'q3_k', 'q4_k', 'q6_k', 'q8_0'].map((t) => `stories260K-pad256-${t}`);
// The exact f32 KV cache, so the only difference between the variants is the matmul kernel.
const KV = { mode: 'f32' } as const;
const DECODE_STEPS = 20;
const params = new URLSearchParams(location.search);

async function fetchBytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function argmax(v: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
  return best;
}

async function checkModel(rt: GpuRuntime, model: string): Promise<EngineCheck> {
  const bytes = await fetchBytes(`fixtures/${model}.gguf`);
  const ref = JSON.parse(new TextDecoder().decode(await fetchBytes(`fixtures/ref/${model}.json`))) as Ref;
  const want = new Float32Array((await fetchBytes(`fixtures/ref/${model}.logits.f32`)).slice().buffer);
  const be = await createGpuBackend(parseGguf(bytes), bytesSource(bytes), { runtime: rt, batch: 16, kv: KV });
  try {
    const V = be.config.nVocab;
    const ours = await be.forward(ref.input_tokens, 0, true);
    const prefillMismatches: number[] = [];
    let relLogitError = 0;
    for (let p = 0; p < ref.input_tokens.length; p++) {
      if (argmax(ours, p * V, V) !== ref.argmax[p]) prefillMismatches.push(p);
      let d = 0;
      let m = 0;
      for (let i = 0; i < V; i++) {
        d = Math.max(d, Math.abs(ours[p * V + i] - want[p * V + i]));
        m = Math.max(m, Math.abs(want[p * V + i]));
      }
      relLogitError = Math.max(relLogitError, d / m);
    }
    be.truncate(0);
    let logits = await be.forward(ref.prompt_tokens, 0);
    let pos = ref.prompt_tokens.length;
    let decodeAgree = 0;
    const steps = Math.min(DECODE_STEPS, ref.generated_tokens.length, be.config.nCtx - pos);
    while (decodeAgree < steps) {
      const tok = argmax(logits, 0, V);
      if (tok !== ref.generated_tokens[decodeAgree]) break;
      decodeAgree++;
      if (decodeAgree < steps) logits = await be.forward([tok], pos++);
    }
    const variant = rt.report.enabled.shaderF16 ? 'f16' : 'f32';
    return { model, variant, prefillMismatches, decodeAgree, decodeSteps: steps, relLogitError };
  } finally {
    be.dispose();
  }
}

async function main(): Promise<PageResult> {
  const probe = await GpuRuntime.create(browserEnvironment());
  const features = [...probe.features];
  probe.destroy();
  const checks: EngineCheck[] = [];
  const f16 = features.includes('shader-f16');
  if (!f16 && !params.has('f32')) {
    return { features, checks: [], skipped: "this device has no 'shader-f16', so no f16 variant to check (the f32 variant's engine checks are test/engine-gpu; ?f32 runs them here)" };
  }
  const modes = f16 && params.has('ab') ? [[], ['shader-f16']] : [[]];
  for (const disableFeatures of modes) {
    const rt = await GpuRuntime.create(browserEnvironment(), { disableFeatures });
    try {
      for (const m of MODELS) {
        const t0 = performance.now();
        checks.push(await checkModel(rt, m));
        status.textContent = `${checks.length} checks; ${m} ${checks.at(-1)!.variant} took ${((performance.now() - t0) / 1e3).toFixed(1)} s`;
      }
    } finally {
      rt.destroy();
    }
  }
  return { features, checks };
}

main().then(done, (e: Error) => done({ error: { name: e.name, message: e.message } }));

function done(r: PageResult): void {
  (window as unknown as { __engineChecks: PageResult }).__engineChecks = r;
  status.textContent = r.error ? `${r.error.name}: ${r.error.message}` : r.skipped ?? `${r.checks!.length} checks`;
  const table = document.getElementById('results') as HTMLTableElement;
  for (const c of r.checks ?? []) {
    const tr = table.insertRow();
    for (const v of [c.model, c.variant, `prefill mismatches ${c.prefillMismatches.length}`, `decode ${c.decodeAgree}/${c.decodeSteps}`, c.relLogitError.toExponential(2)]) tr.insertCell().textContent = v;
  }
}
