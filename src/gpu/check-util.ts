// Shared pieces of the kernel checks: the result shape, output poisoning, one-shot dispatch.
import type { GpuRuntime } from './runtime.ts';
import type { PreparedDispatch } from './dispatch.ts';

export interface CheckResult {
  kernel: string;
  variant: string;
  shape: string;
  seed: number;
  ok: boolean;
  maxError: number;
  tolerance: string;
  detail?: string;
  /** Set (with ok: true) when a variant could not run here, saying why (e.g. no `shader-f16`). */
  skipped?: string;
}

/** A NaN bit pattern: any output element the kernel fails to write stays NaN and fails the check. */
export const POISON_U32 = 0x7fc0dead;

export function poison(rt: GpuRuntime, buf: GPUBuffer): void {
  rt.device.queue.writeBuffer(buf, 0, new Uint32Array(buf.size / 4).fill(POISON_U32));
}

export async function runOnce(rt: GpuRuntime, d: PreparedDispatch): Promise<void> {
  const enc = rt.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  d.encode(pass);
  pass.end();
  try {
    await rt.submit([enc.finish()]);
  } finally {
    d.release();
  }
}
