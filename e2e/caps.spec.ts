import { expect, test } from '@playwright/test';
import { artifact, watchErrors } from './helpers.ts';

test('the app reports a WebGPU adapter and its features', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./');
  const status = page.getByTestId('caps-status');
  await expect(status).toHaveAttribute('data-backend', 'webgpu');
  await expect(status).toContainText('WebGPU: yes');
  const features = page.getByTestId('features');
  await expect(features).toContainText('timestamp-query');
  const caps = await page.evaluate(() => (globalThis as unknown as { __tabshardCaps: { features: string[]; limits: Record<string, number> } }).__tabshardCaps);
  expect(caps.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  // Each engine's known feature set on this machine (BROWSER_LAB.md).
  if (info.project.name === 'chromium') expect(caps.features).toContain('subgroups');
  if (info.project.name === 'firefox') expect(caps.features).toContain('shader-f16');
  await artifact(page, info, 'caps');
  expect(errors).toEqual([]);
});
