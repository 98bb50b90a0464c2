// `auto`'s calibration path in each browser (e2e/pages/auto.ts): both paths timed on the demo model,
// the choice matching the per-token estimate, the reason giving both timings; the second call and a
// reload with the same database answer from IndexedDB without building any backend.
import { expect, test, type Page } from '@playwright/test';
import { estimatePath } from '../src/engine/auto/decide.ts';
import type { AutoPageResult } from './pages/auto.ts';

async function runPage(page: Page, db: string): Promise<AutoPageResult> {
  await page.goto(`e2e/pages/auto.html?db=${db}`);
  await page.waitForFunction(() => (window as unknown as { __auto?: unknown }).__auto !== undefined, undefined, { timeout: 150_000 });
  return page.evaluate(() => (window as unknown as { __auto: AutoPageResult }).__auto);
}

test('calibration times both paths, decides by the estimate, and is cached in IndexedDB across a reload', async ({ page }, info) => {
  test.setTimeout(300_000);
  const db = `auto-cal-${info.project.name}-${Date.now()}`;
  const r = await runPage(page, db);
  expect(r.error).toBeUndefined();
  const [first, second] = r.calls!;
  console.log(`[${info.project.name}] adapter ${r.adapter} (the app treats it as a fallback adapter: ${r.fallbackAdapter}); ${first!.decision.reason}`);
  expect(first!.made).toEqual(['cpu 2', 'gpu 2']);
  const c = first!.decision.calibration!;
  expect(c.cached).toBe(false);
  const cpu = estimatePath(c.cpu, c.nLayer).tokenMs;
  const gpu = estimatePath(c.gpu, c.nLayer).tokenMs;
  expect(first!.decision.backend).toBe(cpu < gpu ? 'cpu' : 'webgpu');
  expect(first!.decision.reason).toMatch(/— calibration [\d.]+ ms vs (CPU|WebGPU) [\d.]+ ms per layer .*measured now/);

  expect(second!.made).toEqual([]);
  expect(second!.decision.calibration?.cached).toBe(true);
  expect(second!.decision.backend).toBe(first!.decision.backend);

  const again = await runPage(page, db);
  expect(again.calls![0]!.made).toEqual([]);
  expect(again.calls![0]!.decision.reason).toMatch(/cached/);
  expect(again.calls![0]!.decision.calibration).toMatchObject({ cpu: c.cpu, gpu: c.gpu, nLayer: c.nLayer });
});
