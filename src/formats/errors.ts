// Errors of the formats module. Tests and callers branch on `err.name`, so every class sets it.

/** Malformed, truncated or hostile GGUF input. `offset` is the byte offset where the problem was seen. */
export class GgufFormatError extends Error {
  override name = 'GgufFormatError';
  readonly offset: number | undefined;

  constructor(what: string, offset?: number, options?: { cause?: unknown }) {
    super(offset === undefined ? what : `${what} (at byte offset ${offset})`, options);
    this.offset = offset;
  }
}

/** Invalid input to the GGUF writer (a programming error, not a bad file). */
export class GgufWriteError extends Error {
  override name = 'GgufWriteError';
}
