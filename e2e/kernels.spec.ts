import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers.ts';

interface PageResult {
  seed: number;
  results?: { kernel: string; variant: string; shape: string; ok: boolean; maxError: number; skipped?: string }[];
  features?: string[];
  error?: { name: string; message: string };
}

test('every kernel matches its CPU reference in this browser', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./e2e/pages/kernels.html');
  const handle = await page.waitForFunction(() => (window as unknown as { __kernelChecks?: unknown }).__kernelChecks, undefined, { timeout: 110_000 });
  const r = (await handle.jsonValue()) as PageResult;
  console.log(`${info.project.name}: kernel checks seed=${r.seed}`);
  expect(r.error).toBeUndefined();
  const failed = r.results!.filter((x) => !x.ok);
  expect(failed).toEqual([]);
  expect(r.results!.length).toBeGreaterThan(10);
  for (const x of r.results!.filter((x) => x.skipped)) console.log(`${info.project.name}: skipped ${x.kernel} ${x.variant}: ${x.skipped}`);
  // The shader-f16 variants ran wherever the device has the feature (Firefox on lavapipe here).
  const f16 = r.results!.filter((x) => x.variant.includes('SHADER_F16') && !x.skipped);
  console.log(`${info.project.name}: ${f16.length} f16-variant checks, worst error ${Math.max(0, ...f16.map((x) => x.maxError)).toExponential(2)} (relative to the tolerance's scale)`);
  expect(f16.length > 0).toBe(r.features!.includes('shader-f16'));
  expect(errors).toEqual([]);
});
