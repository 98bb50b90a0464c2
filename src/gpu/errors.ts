// Typed GPU errors. They cross worker boundaries by name + message + cause (see workers/wire).

/** Why WebGPU cannot be used, in words a user understands. */
export type UnavailableReason = 'insecure-context' | 'no-navigator-gpu' | 'no-adapter' | 'request-failed';

export class WebGPUUnavailableError extends Error {
  override name = 'WebGPUUnavailableError';
  readonly reason: UnavailableReason;
  constructor(reason: UnavailableReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The device was lost (driver reset, tab backgrounded on mobile, destroy()). Restart the runtime. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** A buffer or binding would exceed a device limit (e.g. maxStorageBufferBindingSize). */
export class GpuLimitError extends Error {
  override name = 'GpuLimitError';
}

/** WGSL failed to compile or a pipeline failed validation; the message carries the compiler's words. */
export class ShaderError extends Error {
  override name = 'ShaderError';
}

/** A tensor type or shape no kernel handles (names the type and the reason). */
export class UnsupportedTensorError extends Error {
  override name = 'UnsupportedTensorError';
}
