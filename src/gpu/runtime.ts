// One GPU runtime for browsers and Node: device acquisition, loss handling, and the shared caches.
import {
  WANTED_FEATURES,
  WANTED_LIMITS,
  reportFromAdapter,
  requestAdapter,
  type CapabilityReport,
  type GpuEnvironment,
} from './capabilities.ts';
import { DeviceLostError } from './errors.ts';
import { BufferPool } from './buffers.ts';
import { PipelineCache } from './pipelines.ts';

export interface RuntimeOptions {
  powerPreference?: GPUPowerPreference;
  /** Disable features (e.g. to test the no-subgroups variant on an adapter that has them). */
  disableFeatures?: readonly string[];
  /** Called once when the device is lost; the runtime is unusable afterwards (create a new one). */
  onLost?: (err: DeviceLostError) => void;
  /**
   * While a submit or readback of ours is pending, submit an empty command list every this many
   * ms (0: never). Firefox resolves mapAsync and onSubmittedWorkDone only when its GPU process
   * polls the device: on a 100 ms timer (Mozilla bug 1870699) or after a queue submit; without
   * this a decode token there waits for two timer ticks (~200 ms) however fast the GPU is.
   * Default: 1 in Firefox, 0 elsewhere (Chromium and Dawn resolve when the work is done).
   */
  pollNudgeMs?: number;
}

/** Firefox's WebGPU (see RuntimeOptions.pollNudgeMs). */
function firefox(): boolean {
  return typeof navigator !== 'undefined' && /\bFirefox\//.test(navigator.userAgent ?? '');
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly report: CapabilityReport;
  readonly features: ReadonlySet<string>;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /** Set when the device is lost; every later use throws it. */
  lostError: DeviceLostError | undefined;
  /** Resolves (never rejects) with the loss error when the device is lost. */
  readonly lost: Promise<DeviceLostError>;
  /** See RuntimeOptions.pollNudgeMs. */
  readonly pollNudgeMs: number;

  private constructor(adapter: GPUAdapter, device: GPUDevice, report: CapabilityReport, onLost?: (e: DeviceLostError) => void, pollNudgeMs = 0) {
    this.pollNudgeMs = pollNudgeMs;
    this.adapter = adapter;
    this.device = device;
    this.report = report;
    this.features = new Set([...device.features].map(String));
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.lost = device.lost.then((info) => {
      const err = new DeviceLostError(
        String(info.reason ?? 'unknown'),
        `The GPU device was lost (${info.reason ?? 'unknown'}): ${info.message || 'no details'}. Start the engine again.`,
      );
      this.lostError = err;
      onLost?.(err);
      return err;
    });
  }

  static async create(env: GpuEnvironment, options: RuntimeOptions = {}): Promise<GpuRuntime> {
    const adapter = await requestAdapter(env, options.powerPreference);
    const disabled = new Set(options.disableFeatures ?? []);
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f)) as GPUFeatureName[];
    const requiredLimits: Record<string, number> = {};
    for (const k of WANTED_LIMITS) {
      const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
      if (typeof v === 'number') requiredLimits[k] = v;
    }
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'tabshard' });
    const report = reportFromAdapter(adapter);
    report.enabled = {
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestampQuery: device.features.has('timestamp-query'),
    };
    return new GpuRuntime(adapter, device, report, options.onLost, options.pollNudgeMs ?? (firefox() ? 1 : 0));
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  has(feature: string): boolean {
    return this.features.has(feature);
  }

  /** Throw the typed loss error if the device is gone; call before queuing work. */
  check(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Submit and wait; if the device is lost meanwhile, reject with DeviceLostError. */
  async submit(buffers: GPUCommandBuffer[]): Promise<void> {
    this.check();
    this.device.queue.submit(buffers);
    await this.settle(this.device.queue.onSubmittedWorkDone());
    this.check();
  }

  /** p, or DeviceLostError if the device is lost first; nudging the browser's poll meanwhile (pollNudgeMs). */
  private async settle<T>(p: Promise<T>): Promise<T> {
    let done = false;
    if (this.pollNudgeMs > 0) {
      const nudge = (): void => {
        if (done || this.lostError) return;
        this.device.queue.submit([]);
        setTimeout(nudge, this.pollNudgeMs);
      };
      setTimeout(nudge, this.pollNudgeMs);
    }
    try {
      return await Promise.race([p, this.lost.then((e) => Promise.reject(e))]);
    } finally {
      done = true;
    }
  }

  /** Copy a GPU buffer's bytes back to the CPU (through a pooled staging buffer). */
  async read(src: GPUBuffer, byteLength = src.size, srcOffset = 0): Promise<ArrayBuffer> {
    this.check();
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    try {
      const enc = this.device.createCommandEncoder({ label: 'readback' });
      enc.copyBufferToBuffer(src, srcOffset, staging, 0, size);
      this.device.queue.submit([enc.finish()]);
      await this.settle(staging.mapAsync(GPUMapMode.READ));
      return staging.getMappedRange().slice(0, byteLength);
    } finally {
      staging.destroy();
    }
  }

  destroy(): void {
    this.pool.destroyAll();
    this.pipelines.clear();
    this.device.destroy();
  }
}
