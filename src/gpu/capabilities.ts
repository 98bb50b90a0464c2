// The capability report: what this adapter offers, or why WebGPU is absent, in plain words.
import { WebGPUUnavailableError, type UnavailableReason } from './errors.ts';

/** Features we ask for when the adapter has them; each one enables a kernel variant. */
export const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export type WantedFeature = (typeof WANTED_FEATURES)[number];

/** Limits we raise to the adapter's maximum (defaults are far below what real adapters offer). */
export const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
] as const;
export type WantedLimit = (typeof WANTED_LIMITS)[number];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface CapabilityReport {
  webgpu: boolean;
  /** 'webgpu' when an adapter was found, otherwise the CPU backend is used. */
  backend: 'webgpu' | 'cpu';
  reason?: UnavailableReason;
  message: string;
  adapter?: AdapterSummary;
  /** Every feature the adapter offers (sorted). */
  features: string[];
  /** The wanted features this adapter has; kernel variants are chosen from these. */
  enabled: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
  limits: Partial<Record<WantedLimit, number>>;
}

export function summariseAdapter(adapter: GPUAdapter): AdapterSummary {
  // `info` is a getter object; copy its fields (JSON.stringify sees nothing on it in Dawn/Node).
  const info = adapter.info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
  };
}

export function adapterLimits(adapter: GPUAdapter): Partial<Record<WantedLimit, number>> {
  const out: Partial<Record<WantedLimit, number>> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

export function reportFromAdapter(adapter: GPUAdapter): CapabilityReport {
  const features = [...adapter.features].map(String).sort();
  const a = summariseAdapter(adapter);
  const name = [a.vendor, a.architecture, a.device || a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return {
    webgpu: true,
    backend: 'webgpu',
    message: `WebGPU is available: ${name}.`,
    adapter: a,
    features,
    enabled: {
      shaderF16: adapter.features.has('shader-f16'),
      subgroups: adapter.features.has('subgroups'),
      timestampQuery: adapter.features.has('timestamp-query'),
    },
    limits: adapterLimits(adapter),
  };
}

export function reportUnavailable(err: WebGPUUnavailableError): CapabilityReport {
  return {
    webgpu: false,
    backend: 'cpu',
    reason: err.reason,
    message: `${err.message} Models will run on the CPU backend instead (slower, same results).`,
    features: [],
    enabled: { shaderF16: false, subgroups: false, timestampQuery: false },
    limits: {},
  };
}

export interface GpuEnvironment {
  /** navigator.gpu in browsers, the `webgpu` package's GPU in Node; undefined when absent. */
  gpu: GPU | undefined;
  /** window.isSecureContext (true in Node). */
  secureContext: boolean;
}

/** Find an adapter or say plainly why there is none. */
export async function requestAdapter(env: GpuEnvironment, powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter> {
  if (!env.secureContext) {
    throw new WebGPUUnavailableError(
      'insecure-context',
      'WebGPU needs a secure context: open this page over https:// or from http://localhost.',
    );
  }
  if (!env.gpu) {
    throw new WebGPUUnavailableError(
      'no-navigator-gpu',
      'This browser does not offer WebGPU (navigator.gpu is absent).',
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await env.gpu.requestAdapter({ powerPreference });
  } catch (cause) {
    throw new WebGPUUnavailableError('request-failed', `The browser refused to give a WebGPU adapter: ${(cause as Error).message}`, { cause });
  }
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'no-adapter',
      'WebGPU is present but no GPU adapter is available (the GPU may be blocklisted or disabled).',
    );
  }
  return adapter;
}

export async function probeCapabilities(env: GpuEnvironment): Promise<CapabilityReport> {
  try {
    return reportFromAdapter(await requestAdapter(env));
  } catch (err) {
    if (err instanceof WebGPUUnavailableError) return reportUnavailable(err);
    throw err;
  }
}

/** The environment of the current JS realm (browser window or worker). */
export function browserEnvironment(): GpuEnvironment {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  return {
    gpu: nav && 'gpu' in nav ? nav.gpu : undefined,
    secureContext: (globalThis as { isSecureContext?: boolean }).isSecureContext !== false,
  };
}
