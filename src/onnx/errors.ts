// Errors of the onnx module (export to a transformers.js folder, and the verified cache that serves
// such a folder from the store). Callers and tests branch on `err.name`, so every class sets it.

/** The GGUF cannot be expressed by our exporter (architecture, rope variant, tensor type, ...). */
export class UnsupportedExportError extends Error {
  override name = 'UnsupportedExportError';
}

/** Something went wrong while building or writing the ONNX graph or the side files. */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

/** The vocabulary cannot be written as an HF tokenizer.json (e.g. not SentencePiece/BPE 'llama'). */
export class TokenizerExportError extends Error {
  override name = 'TokenizerExportError';
}

/** A transformers.js request names a file the registry entry does not list (no network fallback). */
export class ModelFileMissingError extends Error {
  override name = 'ModelFileMissingError';
  readonly path: string;

  constructor(path: string, message?: string) {
    super(message ?? `the model folder has no file ${path}`);
    this.path = path;
  }
}

/** The registry entry is not a transformers.js directory entry (no `files`), or is malformed. */
export class NotAModelFolderError extends Error {
  override name = 'NotAModelFolderError';
}

/** A request would have left this machine (the Hugging Face hub, a CDN): refused, never sent. */
export class NetworkRefusedError extends Error {
  override name = 'NetworkRefusedError';
  readonly url: string;

  constructor(url: string) {
    super(`refused to fetch ${url}: only the verified store, its gateways and our own origin are allowed`);
    this.url = url;
  }
}
