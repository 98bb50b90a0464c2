// The app end to end: the demo model is fetched from the local gateway into IndexedDB (verified),
// loaded by the engine worker onto WebGPU, and greedy generation reproduces the reference text.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string; generated_tokens: number[] };

test('loads the demo model through the gateway and generates the reference greedy text in a worker', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto('./');
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.getByTestId('load').click();
  const model = page.getByTestId('model-info');
  await expect(model).toBeVisible({ timeout: 90_000 });
  await expect(model).toHaveAttribute('data-backend', 'webgpu');
  await expect(model).toContainText('stories260k@1.0.0');
  await artifact(page, info, 'app-loaded');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('output')).toHaveText(ref.generated_text_only);
  await expect(page.getByTestId('stats')).toContainText(`${ref.generated_tokens.length} tokens`);
  await artifact(page, info, 'app-generated');

  // Reload: the model is in IndexedDB now, so nothing is fetched again.
  await page.reload();
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toContainText('0 blocks fetched', { timeout: 90_000 });
  expect(errors).toEqual([]);
});
