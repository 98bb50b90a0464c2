import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers.ts';

interface PageResult {
  seed: number;
  results?: { kernel: string; variant: string; shape: string; ok: boolean; maxError: number }[];
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
  expect(errors).toEqual([]);
});
