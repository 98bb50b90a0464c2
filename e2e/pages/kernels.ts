// The kernel checks run in a real browser (Tint in Chromium, naga in Firefox). Playwright reads
// window.__kernelChecks. ?seed=N replays a run; ?disable=subgroups,shader-f16 tests other variants.
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { browserEnvironment } from '../../src/gpu/capabilities.ts';
import { runKernelChecks, type CheckResult } from '../../src/gpu/kernel-checks.ts';
import { freshSeed } from '../../src/util/random.ts';

interface PageResult {
  seed: number;
  results?: CheckResult[];
  features?: string[];
  error?: { name: string; message: string };
}

const params = new URLSearchParams(location.search);
const seed = params.has('seed') ? Number(params.get('seed')) >>> 0 : freshSeed();
const disable = (params.get('disable') ?? '').split(',').filter(Boolean);
const status = document.getElementById('status')!;

async function main(): Promise<PageResult> {
  const rt = await GpuRuntime.create(browserEnvironment(), { disableFeatures: disable });
  try {
    const results = await runKernelChecks(rt, seed);
    return { seed, results, features: [...rt.features] };
  } finally {
    rt.destroy();
  }
}

main().then(
  (r) => done(r),
  (e: Error) => done({ seed, error: { name: e.name, message: e.message } }),
);

function done(r: PageResult): void {
  (window as unknown as { __kernelChecks: PageResult }).__kernelChecks = r;
  const failed = r.results?.filter((x) => !x.ok).length ?? 0;
  status.textContent = r.error ? `${r.error.name}: ${r.error.message}` : `${r.results!.length} checks, ${failed} failed (seed ${seed})`;
  const table = document.getElementById('results') as HTMLTableElement;
  for (const x of r.results ?? []) {
    const tr = table.insertRow();
    for (const v of [x.kernel, x.variant, x.shape, x.ok ? 'ok' : 'FAIL', x.maxError.toExponential(2)]) tr.insertCell().textContent = v;
  }
}
