import { defineConfig } from 'vitest/config';

// Kernel tests run WGSL on Dawn (npm `webgpu`) with the SwiftShader Vulkan driver that ships with
// Debian's chromium package; on a machine with a real GPU and Vulkan driver, unset it to use the GPU.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Dawn instances are heavy on a 2-core machine: keep test files in few workers.
    maxWorkers: 2,
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? swiftshader },
  },
});
