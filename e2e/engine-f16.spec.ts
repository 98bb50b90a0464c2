// The engine's greedy output on the quantized fixtures with the f16 (`shader-f16`) quantized
// matmul variant (e2e/pages/engine-f16.ts): it runs in Firefox on lavapipe; Chromium's SwiftShader
// has no shader-f16, so there the page reports the check skipped (the f32 variant's engine checks
// are Node's test/engine-gpu). The fixture files reach the page through page.route (they are test
// data, not part of the built app).
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers.ts';
import type { EngineCheck } from './pages/engine-f16.ts';

test('greedy output equals the reference with the f16 matmul variant', async ({ page }, info) => {
  // Five models, each a 64-token prefill and 20 single-token forwards: ~40 s on lavapipe.
  test.setTimeout(240_000);
  const errors = watchErrors(page);
  await page.route('**/e2e/pages/fixtures/**', (route) => {
    const name = new URL(route.request().url()).pathname.split('/e2e/pages/fixtures/')[1];
    if (!/^(ref\/)?[\w.-]+$/.test(name)) return route.fulfill({ status: 404 });
    return route.fulfill({ body: readFileSync(`test/fixtures/${name}`) });
  });
  await page.goto('./e2e/pages/engine-f16.html');
  const h = await page.waitForFunction(() => (window as unknown as { __engineChecks?: unknown }).__engineChecks, undefined, { timeout: 230_000 });
  const r = (await h.jsonValue()) as { features?: string[]; checks?: EngineCheck[]; skipped?: string; error?: { name: string; message: string } };
  expect(r.error).toBeUndefined();
  if (r.skipped) console.log(`${info.project.name}: skipped: ${r.skipped}`);
  expect(Boolean(r.skipped)).toBe(!r.features!.includes('shader-f16'));
  for (const c of r.checks!) {
    console.log(`${info.project.name} ${c.model} ${c.variant}: prefill argmax mismatches ${c.prefillMismatches.length}/64 positions, greedy decode ${c.decodeAgree}/${c.decodeSteps}, max relative logit error ${c.relLogitError.toExponential(2)}`);
  }
  if (!r.skipped) expect(r.checks!.map((c) => c.variant)).toEqual(Array(5).fill('f16'));
  for (const c of r.checks!) {
    expect(c.prefillMismatches, `${c.model} ${c.variant}`).toEqual([]);
    expect(c.decodeAgree, `${c.model} ${c.variant}`).toBe(c.decodeSteps);
  }
  expect(errors).toEqual([]);
});
