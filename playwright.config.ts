import { defineConfig } from '@playwright/test';

// The system browsers from Debian (never `npx playwright install`: no internet here).
// Chromium: WebGPU on SwiftShader (Tint). Firefox ESR: WebGPU through wgpu/naga on Mesa lavapipe,
// which also gives shader-f16 and a 128 MiB storage-binding limit (like many phones).
const PORT = Number(process.env.TABSHARD_E2E_PORT ?? 4173);

export const chromiumArgs = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
];

export const firefoxPrefs = {
  'dom.webgpu.enabled': true,
  'gfx.webgpu.ignore-blocklist': true,
  'gfx.webgpu.force-enabled': true,
};

export default defineConfig({
  testDir: 'e2e',
  testMatch: /.*\.spec\.ts$/,
  // e2e/webrtc runs inside its own network namespace (e2e/webrtc/run.sh), never here.
  testIgnore: ['**/webkit/**', '**/webrtc/**'],
  timeout: 120_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  // CI: one retry, so a test that timed out once on a loaded runner does not sink the run; the
  // report still counts it as flaky (scripts/test-all.ts prints it), so it is seen and mended.
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  outputDir: 'test-results/playwright',
  use: {
    baseURL: `http://localhost:${PORT}/`,
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  // The built app and the demo model behind one local trustless gateway (as `npm start` serves it).
  webServer: {
    command: `node scripts/serve.ts ${PORT}`,
    url: `http://localhost:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
  projects: [
    {
      name: 'chromium',
      use: { browserName: 'chromium', launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs } },
    },
    {
      name: 'firefox',
      use: {
        browserName: 'firefox',
        channel: 'moz-firefox',
        launchOptions: {
          executablePath: '/usr/bin/firefox-esr',
          firefoxUserPrefs: firefoxPrefs,
          env: { ...process.env, VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' } as Record<string, string>,
        },
      },
    },
  ],
});
