// The built app is a static folder with a relative base: published as a UnixFS directory, it runs
// from a gateway's /ipfs/<cid>/ path, loads the demo model from that same gateway and generates
// the reference text.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { publishDir } from '../src/store/publish-dir.ts';
import { publish } from '../src/store/publish.ts';
import { startGateway, type RunningGateway } from '../src/store/gateway-server.ts';
import { artifact, watchErrors } from './helpers.ts';

const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { generated_text_only: string };

let gw: RunningGateway;
let storeDir: string;
let appCid: string;

test.beforeAll(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'tabshard-app-ipfs-'));
  // dist/registry.json (written by the e2e server) names the demo model's CID; publish the model
  // into the same store so that CID resolves on this gateway too.
  await publish('public/models/stories260K.gguf', { name: 'stories260k', version: '1.0.0', storeDir });
  appCid = (await publishDir('dist', { name: 'tabshard-app', version: '0.1.0', storeDir, tasks: [] })).entry.cid;
  gw = await startGateway({ port: 0, store: storeDir });
});

test.afterAll(async () => {
  await gw?.close();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

test('the app runs from /ipfs/<cid>/ on a gateway and generates the reference text', async ({ page }, info) => {
  const errors = watchErrors(page);
  await page.goto(`${gw.url}/ipfs/${appCid}/`);
  await expect(page.getByTestId('caps-status')).toHaveAttribute('data-backend', 'webgpu');
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 90_000 });
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('stats')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('output')).toHaveText(ref.generated_text_only);
  await artifact(page, info, 'ipfs-hosted');
  expect(errors).toEqual([]);
});
