// `auto` in the app, in each engine as it comes: no WebGPU → the WASM CPU path; a software adapter
// (Chromium's SwiftShader) → the CPU without measuring; any other adapter (Firefox's lavapipe is
// not a fallback adapter) → calibration on the model's first layers decides, the load line gives
// both timings, and a second load (after a reload) says the calibration was cached. Whatever is
// picked must answer with the reference text. Each run uses a fresh database (?db=), so the
// calibration cache starts empty.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

async function adapterKind(page: Page): Promise<'none' | 'fallback' | 'hardware'> {
  return page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean; description?: string; architecture?: string } } | null> } }).gpu;
    const a = await gpu?.requestAdapter();
    if (!a) return 'none' as const;
    const name = `${a.info?.description ?? ''} ${a.info?.architecture ?? ''}`;
    return a.info?.isFallbackAdapter || /swiftshader|llvmpipe|softpipe/i.test(name) ? 'fallback' as const : 'hardware' as const;
  });
}

async function loadDemo(page: Page): Promise<{ backend: string; line: string }> {
  await expect(page.getByTestId('load')).toBeEnabled();
  await page.getByTestId('load').click();
  const model = page.getByTestId('model-info');
  await expect(model).toBeVisible({ timeout: 90_000 });
  return { backend: (await model.getAttribute('data-backend')) ?? '', line: (await model.textContent()) ?? '' };
}

test("'auto' picks a path by adapter or calibration, says why, caches the calibration, and answers the reference", async ({ page }, info) => {
  test.setTimeout(240_000);
  const errors = watchErrors(page);
  const db = `auto-${info.project.name}-${Date.now()}`;
  await page.goto(`./?db=${db}`);
  await expect(page.getByTestId('caps-status')).toBeVisible();
  const kind = await adapterKind(page);
  const first = await loadDemo(page);
  console.log(`[${info.project.name}] adapter ${kind}; auto picked ${first.backend}: ${first.line.replace(/\s+/g, ' ').trim()}`);
  expect(first.line).toContain('auto: ');
  if (kind === 'none') {
    expect(first.backend).toBe('cpu');
    expect(first.line).toContain('no WebGPU here');
  } else if (kind === 'fallback') {
    expect(first.backend).toBe('cpu');
    expect(first.line).toContain('software emulation');
    expect(first.line).not.toContain('calibration');
  } else {
    const m = /auto: (CPU|WebGPU) .*— calibration [\d.]+ ms vs (CPU|WebGPU) [\d.]+ ms per layer \(~[\d.]+ vs [\d.]+ ms per token over \d+ layers\), measured now/.exec(first.line);
    expect(m, first.line).not.toBeNull();
    expect(first.backend).toBe(m![1] === 'CPU' ? 'cpu' : 'webgpu');
    expect(m![2]).not.toBe(m![1]);
  }
  if (first.backend === 'cpu') await expect(page.getByTestId('model-info')).toContainText('WASM SIMD128');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('output')).toHaveText(ref.generated_text_only, { timeout: 90_000 });
  await artifact(page, info, 'auto-first');

  // Same profile and database after a reload: a calibration is answered from the cache.
  await page.reload();
  const second = await loadDemo(page);
  console.log(`[${info.project.name}] after reload: ${second.backend}: ${second.line.replace(/\s+/g, ' ').trim()}`);
  expect(second.backend).toBe(first.backend);
  if (kind === 'hardware') expect(second.line).toMatch(/per layer .*, cached/);
  expect(errors).toEqual([]);
});
