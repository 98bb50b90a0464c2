// Errors of the store module. Callers and tests branch on `err.name` (it survives structured clone
// across the worker boundary, `instanceof` does not), so every class sets it explicitly.

/** A gateway answered badly: 5xx, unexpected status, network failure, timeout, truncated body. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly gateway: string;
  readonly status: number | undefined;

  constructor(gateway: string, message: string, options?: { status?: number; cause?: unknown }) {
    super(`${gateway}: ${message}`, options);
    this.gateway = gateway;
    this.status = options?.status;
  }
}

/** A request to a gateway took longer than the per-request timeout (a stalled connection). */
export class TimeoutError extends GatewayError {
  override name = 'TimeoutError';
}

/** Bytes do not hash to the CID they were asked for. Never stored, never returned. */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
  readonly cid: string;
  /** Which gateway (or store) served the bad bytes, when known. */
  readonly source: string | undefined;

  constructor(cid: string, source?: string, message?: string) {
    super(message ?? `block ${cid}${source ? ` from ${source}` : ''} does not match its CID`);
    this.cid = cid;
    this.source = source;
  }
}

/** The CID uses a hash function we cannot verify with, so its block can never be trusted. */
export class UnsupportedHashError extends Error {
  override name = 'UnsupportedHashError';
}

/** A block larger than the limit (2 MiB by default, as the Bitswap ecosystem assumes). */
export class BlockTooLargeError extends Error {
  override name = 'BlockTooLargeError';
  readonly cid: string;
  readonly limit: number;
  readonly gateway: string | undefined;

  constructor(cid: string, limit: number, gateway?: string) {
    super(`block ${cid}${gateway ? ` from ${gateway}` : ''} exceeds ${limit} bytes`);
    this.cid = cid;
    this.limit = limit;
    this.gateway = gateway;
  }
}

/** A block (or registry entry) that is not there: 404 from every gateway, or absent from a store. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** Same `name` as the DOM's AbortError, so code that checks `err.name === 'AbortError'` works. */
export class AbortError extends Error {
  override name = 'AbortError';

  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The gateway's circuit breaker is open: it failed too often lately and is skipped for a while. */
export class CircuitOpenError extends GatewayError {
  override name = 'CircuitOpenError';
}

export interface GatewayFailure {
  gateway: string;
  error: Error;
}

/** Every gateway failed for this block, after all retries. `causes` lists each failure in order. */
export class AllGatewaysFailedError extends Error {
  override name = 'AllGatewaysFailedError';
  readonly cid: string;
  readonly causes: GatewayFailure[];

  constructor(cid: string, causes: GatewayFailure[]) {
    const summary = causes.map((c) => `${c.error.name}: ${c.error.message}`).slice(-6).join('; ');
    super(`all gateways failed for ${cid}${summary ? ` (${summary})` : ''}`, { cause: causes.at(-1)?.error });
    this.cid = cid;
    this.causes = causes;
  }
}

/** A store asked for something it cannot do (list or delete its blocks), through a generic contract. */
export class UnsupportedStoreOperationError extends Error {
  override name = 'UnsupportedStoreOperationError';
}

/** A string that is not a CID, or a CID whose codec we cannot handle here. */
export class InvalidCidError extends Error {
  override name = 'InvalidCidError';
}

/** A DAG that is not a well-formed UnixFS file (bad protobuf, blocksizes not matching links, ...). */
export class UnixFSError extends Error {
  override name = 'UnixFSError';
}

/** A gateway URL the settings cannot use (not http(s), has a query, already listed). */
export class InvalidGatewayError extends Error {
  override name = 'InvalidGatewayError';
}

/** Registry problems: malformed JSON, a spec that matches nothing, a conflicting republish. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** Turn an AbortSignal's reason into our AbortError (or keep a TimeoutError/AbortError as is). */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error && (r.name === 'AbortError' || r.name === 'TimeoutError')) {
    return r.name === 'AbortError' && !(r instanceof AbortError) ? new AbortError(r.message, { cause: r }) : r;
  }
  return new AbortError(undefined, { cause: r });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * The browser refused to store more (IndexedDB's QuotaExceededError, thrown by a request or as the
 * reason a transaction aborted). The message says what to free; the store stays consistent: the
 * block being written is not there, and no model is marked available without all its blocks.
 */
export class QuotaError extends Error {
  override name = 'QuotaError';
  /** Bytes the failed write needed. */
  readonly bytesNeeded: number;
  /** `navigator.storage.estimate()` figures when known (bytes). */
  readonly usage: number | undefined;
  readonly quota: number | undefined;

  constructor(message: string, options: { bytesNeeded: number; usage?: number; quota?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.bytesNeeded = options.bytesNeeded;
    this.usage = options.usage;
    this.quota = options.quota;
  }
}

/**
 * An imported file is not what the user said it would be (expected CID or sha256). Nothing of the
 * import is kept: its blocks are deleted before this is thrown.
 */
export class ImportMismatchError extends Error {
  override name = 'ImportMismatchError';
  readonly expected: string;
  readonly actual: string;
  readonly what: 'cid' | 'sha256';

  constructor(what: 'cid' | 'sha256', expected: string, actual: string, url: string) {
    super(`${url}: expected ${what} ${expected}, the file has ${actual}; nothing was kept`);
    this.what = what;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An HTTP(S) server refused or broke a file download (bad status, no body, changed file). */
export class DownloadError extends Error {
  override name = 'DownloadError';
  readonly status: number | undefined;

  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options);
    this.status = options?.status;
  }
}
