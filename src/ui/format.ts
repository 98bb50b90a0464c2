// Number formatting shared by the UI components.
export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

export function seconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A typed error in words a user can act on. */
export function explain(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const hints: Record<string, string> = {
    QuotaError: 'The browser has no room left for this model. Free space in Storage (evict stored models) or allow persistent storage.',
    IntegrityError: 'A gateway sent data that does not match the model\'s content address; it was rejected.',
    AllGatewaysFailedError: 'No gateway could provide the model. Check the gateway list or your connection.',
    NotFoundError: 'The model was not found in the store or on any gateway.',
    DeviceLostError: 'The GPU device was lost. Load the model again to continue.',
    WebGPUUnavailableError: 'WebGPU is not available here; the CPU backend will be used.',
    UnsupportedModelError: 'This model\'s architecture is not supported.',
    UnsupportedTensorTypeError: 'This model uses a weight type that is not supported.',
    ContextOverflowError: 'The conversation is longer than the model\'s context. Load with a longer context or start over.',
    AbortError: 'Stopped. Blocks already stored are kept: Load (Resume) continues where it stopped.',
    GatewayError: 'A gateway failed to answer. Other gateways are tried; add more under Gateways.',
    TimeoutError: 'A gateway was too slow. Try again, or add a faster gateway.',
    CircuitOpenError: 'A gateway failed repeatedly and is paused for a while. Add another gateway or wait.',
    InvalidCidError: 'That is not a valid CID. Paste a CID such as bafy… or Qm…, or pick a model from the list.',
    RegistryError: 'The model name or registry entry is malformed. Use name@version, name@tag or a CID.',
    UnixFSError: 'The content at this CID is not a file the loader can read (UnixFS file expected).',
    BlockTooLargeError: 'A gateway returned a block larger than allowed; it was rejected.',
    UnsupportedHashError: 'This CID uses a hash function the verifier does not support (use sha2-256).',
    GgufFormatError: 'This file is not a valid GGUF model. Check that it is a .gguf file from llama.cpp tools.',
    KvConfigError: 'This KV cache mode does not fit this model. Pick another KV mode (f16 always works).',
    OutOfMemoryError: 'The GPU ran out of memory. Pick a smaller model, a smaller context or a compressed KV mode.',
    GpuLimitError: 'A tensor is larger than this GPU allows in one binding. Try another browser or a smaller model.',
    ShaderError: 'A GPU kernel failed to compile on this browser. Use the CPU backend and report the browser version.',
    UnknownGgmlTypeError: 'This model uses a weight type this app does not know.',
    UnsupportedTensorError: 'This model has a tensor layout that is not supported.',
    ModelTensorError: 'This model file is missing a tensor it needs, or one has the wrong shape.',
    TokenizerError: 'The model\'s tokenizer could not be read from its GGUF metadata.',
    EngineArgumentError: 'A setting is out of range; check the sampling settings.',
    SecurityError: 'The browser refused access (storage or workers may be blocked in this frame or mode).',
    WasmMemoryLimitError: 'Share across tabs: this model is larger than one tab\'s CPU memory (4 GiB of WebAssembly). Open it in a few tabs or on other devices with Share, so each holds a range of layers, or load it with WebGPU.',
  };
  const hint = e?.name ? (hints[e.name] ?? hints[e.name === 'NotAllowedError' ? 'SecurityError' : '']) : undefined;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}${hint ? ` — ${hint}` : ''}`;
}
