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
    ContextOverflowError: 'The conversation is longer than the model\'s context.',
  };
  const hint = e?.name ? hints[e.name] : undefined;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}${hint ? ` — ${hint}` : ''}`;
}
