// Errors of the engine module. Callers and tests branch on `err.name`, so every class sets it.
//
// Abort semantics (documented choice): loading a backend (`createCpuBackend`, ...) rejects with the
// signal's reason (a DOMException named 'AbortError' unless the caller passed another reason), as
// `signal.throwIfAborted()` does. Generation does NOT throw on abort: `generate` resolves with the
// tokens produced so far and `stoppedBy: 'abort'`, because a chat UI wants to keep partial text.

/** The model's architecture (general.architecture) is not one this engine runs. */
export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
  readonly arch: string | undefined;

  constructor(arch: string | undefined, detail?: string) {
    super(`unsupported model architecture ${arch === undefined ? '(none: no general.architecture)' : `'${arch}'`}${detail ? `: ${detail}` : ''}`);
    this.arch = arch;
  }
}

/** A weight tensor has a ggml type the backend cannot compute with (or is missing / misshapen). */
export class UnsupportedTensorTypeError extends Error {
  override name = 'UnsupportedTensorTypeError';
  readonly tensor: string;
  readonly typeName: string;

  constructor(tensor: string, typeName: string) {
    super(`tensor '${tensor}' has type ${typeName}, which this backend cannot use`);
    this.tensor = tensor;
    this.typeName = typeName;
  }
}

/** A tensor the model needs is absent or has the wrong shape. */
export class ModelTensorError extends Error {
  override name = 'ModelTensorError';
}

/** More positions than the context holds: pos + nTok > nCtx (or prompt + maxTokens > nCtx). */
export class ContextOverflowError extends Error {
  override name = 'ContextOverflowError';
  readonly needed: number;
  readonly nCtx: number;

  constructor(needed: number, nCtx: number, what = 'positions') {
    super(`${what} need ${needed} positions but the context holds ${nCtx}`);
    this.needed = needed;
    this.nCtx = nCtx;
  }
}

/** Bad arguments to an engine call (layer range outside the backend's, wrong hidden size, ...). */
export class EngineArgumentError extends Error {
  override name = 'EngineArgumentError';
}

/** Tokenizer metadata missing or inconsistent (no tokens, unknown tokenizer.ggml.model, ...). */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** A llama2.c checkpoint or tokenizer file that does not parse. */
export class Llama2cFormatError extends Error {
  override name = 'Llama2cFormatError';
}
