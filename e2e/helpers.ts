// Shared e2e helpers: collect console errors and uncaught exceptions; save screenshots as artifacts.
import type { Page, TestInfo } from '@playwright/test';
import { mkdirSync } from 'node:fs';

export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}

export async function artifact(page: Page, info: TestInfo, name: string): Promise<void> {
  mkdirSync('e2e/artifacts', { recursive: true });
  await page.screenshot({ path: `e2e/artifacts/${info.project.name}-${name}.png`, fullPage: true });
}
