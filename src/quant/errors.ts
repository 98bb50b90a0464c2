// Errors of the quant module. Tests and callers branch on `err.name`.

/** A ggml type id this code base has no table entry (or no kernel) for. */
export class UnknownGgmlTypeError extends Error {
  override name = 'UnknownGgmlTypeError';
  readonly typeId: number;

  constructor(typeId: number, what = 'unknown ggml type id') {
    super(`${what} ${typeId}`);
    this.typeId = typeId;
  }
}

/** Bad arguments to a (de)quantizer: element counts that are not whole blocks, short buffers, ... */
export class QuantError extends Error {
  override name = 'QuantError';
}
