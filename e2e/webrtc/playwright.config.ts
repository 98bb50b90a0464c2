import { defineConfig } from '@playwright/test';

// WebRTC specs: run only by e2e/webrtc/run.sh, inside a private network namespace (a veth pair and
// loopback, nothing else), so ICE can only use the namespace's own addresses. The specs launch
// Chromium and Firefox themselves (one test drives both), so there are no projects here.
const PORT = Number(process.env.TABSHARD_WEBRTC_PORT ?? 4273);
const RELAY_PORT = Number(process.env.TABSHARD_RELAY_PORT ?? 4280);

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../../test-results/playwright-webrtc',
  use: { baseURL: `http://127.0.0.1:${PORT}/` },
  webServer: [
    { command: `node scripts/serve.ts ${PORT}`, url: `http://127.0.0.1:${PORT}/`, cwd: '../..', reuseExistingServer: false, timeout: 60_000 },
    { command: `node bin/tabshard.js relay --port ${RELAY_PORT} --quiet`, port: RELAY_PORT, cwd: '../..', reuseExistingServer: false, timeout: 30_000 },
  ],
});
