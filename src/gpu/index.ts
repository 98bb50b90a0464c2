// The GPU runtime's public surface.
export * from './errors.ts';
export * from './capabilities.ts';
export { GpuRuntime, type RuntimeOptions } from './runtime.ts';
export { BufferPool, type BufferCategory } from './buffers.ts';
export { PipelineCache, pipelineKey, expandShader, type KernelVariant } from './pipelines.ts';
export { prepareDispatch, dispatch, grid, DispatchFrame, type DispatchSpec, type PreparedDispatch, type FramedRuntime } from './dispatch.ts';
export { timePass, median, type Timing, type TimingMethod } from './timing.ts';
export { runKernelChecks, type CheckResult } from './kernel-checks.ts';
