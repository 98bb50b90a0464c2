// The WASM CPU path with threads in the app: scripts/serve.ts sends COOP/COEP, so the page (and the
// engine worker under it) is cross-origin isolated and the backend runs min(cores, 8) threads over
// a shared memory; the load line says how many, and greedy output is still the reference's.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

test('CPU backend in a cross-origin-isolated page: WASM SIMD128 on every core (2 here), reference output', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('./');
  const env = await page.evaluate(() => ({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency }));
  expect(env.isolated).toBe(true);
  const threads = Math.min(env.cores, 8);
  test.skip(threads < 2, `this machine reports ${env.cores} core(s): nothing to split`);
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.locator('#backend').selectOption('cpu');
  await page.getByTestId('load').click();
  const model = page.getByTestId('model-info');
  await expect(model).toBeVisible({ timeout: 50_000 });
  await expect(model).toHaveAttribute('data-backend', 'cpu');
  await expect(model).toContainText(`WASM SIMD128, ${threads} threads`);
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('output')).toHaveText(ref.generated_text_only, { timeout: 50_000 });
  expect(errors).toEqual([]);
});
