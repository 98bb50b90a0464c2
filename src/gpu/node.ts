// Node only: Dawn through the npm `webgpu` package. The Vulkan driver is whatever VK_ICD_FILENAMES
// (or VK_DRIVER_FILES) names. When neither is set and the machine has no GPU device node, the only
// system driver that could answer is Mesa's lavapipe, which Dawn refuses, so we point Vulkan at the
// SwiftShader driver that Debian's chromium ships.
import { existsSync, readdirSync } from 'node:fs';
import type { GpuEnvironment } from './capabilities.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasGpuDevice(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  return existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
}

export function chooseVulkanDriver(env: Record<string, string | undefined> = process.env): void {
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return;
  if (!hasGpuDevice() && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

let cached: GPU | undefined;

export async function nodeGpuEnvironment(): Promise<GpuEnvironment> {
  if (!cached) {
    chooseVulkanDriver();
    const { create, globals } = (await import('webgpu')) as unknown as {
      create(flags: string[]): GPU;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, globals);
    cached = create([]);
  }
  return { gpu: cached, secureContext: true };
}
