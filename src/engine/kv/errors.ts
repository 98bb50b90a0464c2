// Errors of the KV-cache module. Tests branch on `err.name`.

/** A KV option that cannot be honoured (unknown mode, a group or window out of range). */
export class KvConfigError extends Error {
  override name = 'KvConfigError';
}
