// `auto`: which backend a load gets when the user did not choose one. Pure functions over what the
// capability probe found and what calibration measured, so the rule is unit-tested without a GPU.
//
// The rule. No WebGPU: the CPU. A fallback (software) adapter such as SwiftShader emulates the GPU
// on the CPU and decodes far slower than the WASM kernels, so the CPU without measuring. Otherwise
// a real adapter may still lose to the CPU (integrated GPUs on small models, lavapipe, a GPU whose
// per-call round trip dwarfs a tiny layer), so both paths run layers of the model being loaded and
// the faster per token wins.
//
// Why two calls per path (one layer, then two layers): a `layers` call pays a fixed cost (on WebGPU
// the upload and the read-back of the hidden state, which a real forward pays once per token, not
// once per layer) plus the layers' compute. Timing one and two layers separates the two, so a model
// of L layers costs fixed + L × perLayer per token on each path; counting the GPU's round trip once
// per layer instead would hand small-layer models to the CPU wrongly.

/** What the probe says about WebGPU here. */
export interface AutoProbe {
  webgpu: boolean;
  /** Why WebGPU is absent, in words (the capability report's message). */
  webgpuMessage?: string;
  /** The adapter says it is a fallback (software) adapter, or names a known software rasterizer. */
  fallbackAdapter: boolean;
  /** The adapter's name for messages ("Google SwiftShader", "llvmpipe ..."). */
  adapterName?: string;
}

/** Median wall time of a `layers` call over one layer and over two layers of the model, ms. */
export interface PathTiming {
  oneMs: number;
  twoMs: number;
}

export interface Calibration {
  cpu: PathTiming;
  gpu: PathTiming;
  /** Layers of the model being loaded (the per-token estimate is for all of them). */
  nLayer: number;
  /** Taken from this device's cache rather than measured now. */
  cached: boolean;
}

export interface PathEstimate {
  /** Compute of one layer, ms. */
  perLayerMs: number;
  /** One call's fixed cost (upload, read-back, dispatch overhead), ms. */
  fixedMs: number;
  /** fixed + nLayer × perLayer, ms. */
  tokenMs: number;
}

export interface AutoDecision {
  backend: 'cpu' | 'webgpu';
  /** One line for the load message: what auto chose and why. */
  reason: string;
  /** Present when the choice came from calibration. */
  calibration?: Calibration;
}

/** Names matched when an adapter does not set isFallbackAdapter but is a CPU rasterizer all the same. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|softpipe/i;

/** Whether an adapter's summary marks it as software (the flag, or a known software rasterizer's name). */
export function isSoftwareAdapter(a: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; device?: string; description?: string } | undefined): boolean {
  if (!a) return false;
  // lavapipe is left out on purpose: it is not a fallback adapter (Firefox offers it as a real one)
  // and calibration decides there, which is what the issue asks for.
  return a.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(`${a.vendor ?? ''} ${a.architecture ?? ''} ${a.device ?? ''} ${a.description ?? ''}`);
}

/** The decision that needs no measurement, or undefined when calibration must decide. */
export function decideWithoutCalibration(probe: AutoProbe, cpuPath: string): AutoDecision | undefined {
  if (!probe.webgpu) {
    return { backend: 'cpu', reason: `auto: CPU (${cpuPath}): no WebGPU here (${probe.webgpuMessage ?? 'navigator.gpu is absent'})` };
  }
  if (probe.fallbackAdapter) {
    return {
      backend: 'cpu',
      reason: `auto: CPU (${cpuPath}): the only WebGPU adapter is a software emulation (${probe.adapterName || 'fallback adapter'}), slower than the CPU path`,
    };
  }
  return undefined;
}

/** Splits one path's two timings into fixed and per-layer cost, and the per-token estimate. */
export function estimatePath(t: PathTiming, nLayer: number): PathEstimate {
  let perLayerMs = t.twoMs - t.oneMs;
  // Noise can make two layers look no slower than one (a jittery timer, a tiny layer): then the
  // difference says nothing, and the two-layer call split evenly is the honest estimate.
  if (!(perLayerMs > 0)) perLayerMs = t.twoMs / 2;
  const fixedMs = Math.max(0, t.twoMs - 2 * perLayerMs);
  return { perLayerMs, fixedMs, tokenMs: fixedMs + nLayer * perLayerMs };
}

function ms(x: number): string {
  return x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2);
}

/** The faster path per token; ties go to WebGPU (it leaves the CPU to the page). */
export function decideFromCalibration(c: Calibration, cpuPath: string, adapterName?: string): AutoDecision {
  const cpu = estimatePath(c.cpu, c.nLayer);
  const gpu = estimatePath(c.gpu, c.nLayer);
  const backend = cpu.tokenMs < gpu.tokenMs ? 'cpu' : 'webgpu';
  const chosen = backend === 'cpu' ? `CPU (${cpuPath})` : `WebGPU (${adapterName || 'adapter'})`;
  const [a, b] = backend === 'cpu' ? [cpu, gpu] : [gpu, cpu];
  const other = backend === 'cpu' ? 'WebGPU' : 'CPU';
  return {
    backend,
    reason: `auto: ${chosen} — calibration ${ms(a.perLayerMs)} ms vs ${other} ${ms(b.perLayerMs)} ms per layer `
      + `(~${ms(a.tokenMs)} vs ${ms(b.tokenMs)} ms per token over ${c.nLayer} layers), ${c.cached ? 'cached' : 'measured now'}`,
    calibration: c,
  };
}

/** What a calibration is valid for: this device's adapter and CPU path, and this model's layer shape and types. */
export interface CalibrationKeyParts {
  adapter: { vendor?: string; architecture?: string; device?: string; description?: string } | undefined;
  cpuPath: string;
  /** arch, nEmbd, nFf, heads, head dims: what one layer's work depends on. */
  shape: Readonly<Record<string, string | number | boolean>>;
  /** ggml type names of one layer's tensors, in file order. */
  layerTypes: readonly string[];
  nLayer: number;
}

/** Bump when the timing method changes, so old cache entries are not trusted. */
export const CALIBRATION_VERSION = 1;

export function calibrationKey(p: CalibrationKeyParts): string {
  const a = p.adapter;
  return JSON.stringify({
    v: CALIBRATION_VERSION,
    adapter: a ? [a.vendor ?? '', a.architecture ?? '', a.device ?? '', a.description ?? ''] : null,
    cpu: p.cpuPath,
    shape: Object.keys(p.shape).sort().map((k) => [k, p.shape[k]]),
    types: p.layerTypes,
    nLayer: p.nLayer,
  });
}

/** A cached calibration read back from storage is used only if it has the expected form. */
export function validCalibration(x: unknown): x is Omit<Calibration, 'cached'> {
  const ok = (t: unknown): boolean => {
    const p = t as Partial<PathTiming> | undefined;
    return !!p && Number.isFinite(p.oneMs) && Number.isFinite(p.twoMs) && p.oneMs! > 0 && p.twoMs! > 0;
  };
  const c = x as Partial<Calibration> | undefined;
  return !!c && ok(c.cpu) && ok(c.gpu) && Number.isInteger(c.nLayer) && c.nLayer! > 0;
}
