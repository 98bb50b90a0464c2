// `auto` backend choice, shared by the app's engine worker, the widget (same worker), the CLI and
// shard participants: decide without measuring where the answer is plain (no WebGPU, a software
// adapter), else reuse this device's cached calibration for this model shape, else calibrate and
// cache. Each caller supplies its own slice makers and cache (IndexedDB in browsers, a JSON file in
// the CLI's cache directory).
import type { GgufFile } from '../../formats/gguf-types.ts';
import type { CapabilityReport } from '../../gpu/capabilities.ts';
import { modelKeyParts, timePath, type SliceMaker } from './calibrate.ts';
import {
  calibrationKey, isSoftwareAdapter, decideFromCalibration, decideWithoutCalibration, validCalibration,
  type AutoDecision, type AutoProbe, type Calibration,
} from './decide.ts';

export * from './decide.ts';
export { timePath, modelKeyParts, type SliceMaker } from './calibrate.ts';

/** Where calibrations are kept between loads (per device: the key names the adapter and CPU path). */
export interface CalibrationCache {
  get(key: string): Promise<unknown>;
  put(key: string, value: Omit<Calibration, 'cached'>): Promise<void>;
}

/** The probe's view for `auto`, from a capability report. */
export function autoProbe(caps: CapabilityReport): AutoProbe {
  const a = caps.adapter;
  return {
    webgpu: caps.webgpu,
    webgpuMessage: caps.message,
    fallbackAdapter: isSoftwareAdapter(a),
    adapterName: a ? (a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || undefined) : undefined,
  };
}

export interface ChooseAutoOptions {
  probe: AutoProbe;
  /** The adapter's fields, for the cache key. */
  adapter?: { vendor?: string; architecture?: string; device?: string; description?: string };
  cpuPath: string;
  file: GgufFile;
  makeCpu: SliceMaker;
  makeGpu: SliceMaker;
  cache?: CalibrationCache;
  reps?: number;
  signal?: AbortSignal;
  /** How to force WebGPU here, appended when auto picks the CPU ('choose WebGPU in settings', '--backend webgpu'). */
  override?: string;
  /** The clock for timing (tests); default performance.now. */
  now?: () => number;
}

/** A calibration failure as a value, unless the load was aborted (that propagates). */
function failed(e: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted) throw e;
  return e instanceof Error ? e : new Error(String(e));
}

export async function chooseAuto(o: ChooseAutoOptions): Promise<AutoDecision> {
  const d = await choose(o);
  // Only where there is a WebGPU adapter to force: without one the hint would be noise.
  return d.backend === 'cpu' && o.probe.webgpu && o.override ? { ...d, reason: `${d.reason}; ${o.override}` } : d;
}

async function choose(o: ChooseAutoOptions): Promise<AutoDecision> {
  const plain = decideWithoutCalibration(o.probe, o.cpuPath);
  if (plain) return plain;
  const parts = modelKeyParts(o.file);
  const key = calibrationKey({ adapter: o.adapter, cpuPath: o.cpuPath, ...parts });
  // A cache that cannot be read (private mode, a corrupt file) only costs a calibration.
  const hit = await o.cache?.get(key).catch(() => undefined);
  if (validCalibration(hit)) return decideFromCalibration({ ...hit, cached: true }, o.cpuPath, o.probe.adapterName);
  const time = (make: SliceMaker) => timePath(make, parts.nLayer, { reps: o.reps, signal: o.signal, now: o.now });
  // A path that cannot hold this model (a weight type without a WebGPU kernel, a tensor over the
  // adapter's binding limit, ...) loses to the other, which is then used without a comparison;
  // nothing is cached, as the failure may be this load's. Both failing: the CPU path's error.
  const cpu = await time(o.makeCpu).catch((e: unknown) => failed(e, o.signal));
  const gpu = await time(o.makeGpu).catch((e: unknown) => failed(e, o.signal));
  if (cpu instanceof Error && gpu instanceof Error) throw cpu;
  if (cpu instanceof Error || gpu instanceof Error) {
    const e = (cpu instanceof Error ? cpu : gpu) as Error;
    const backend = cpu instanceof Error ? 'webgpu' : 'cpu';
    const chosen = backend === 'cpu' ? `CPU (${o.cpuPath})` : `WebGPU (${o.probe.adapterName || 'adapter'})`;
    return { backend, reason: `auto: ${chosen}: the ${backend === 'cpu' ? 'WebGPU' : 'CPU'} path cannot run this model (${e.name}: ${e.message})` };
  }
  const measured = { cpu, gpu, nLayer: parts.nLayer };
  await o.cache?.put(key, measured).catch(() => undefined);
  return decideFromCalibration({ ...measured, cached: false }, o.cpuPath, o.probe.adapterName);
}
