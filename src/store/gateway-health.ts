// Each gateway's health as this browser has seen it, from the gateway client's own events: blocks
// and bytes served, time to a verified block, failures, integrity errors (wrong bytes served) and
// the circuit breaker's state. Records are kept per gateway URL and survive reloads (the sink is
// IndexedDB in the app); events are batched so a fast load does not write once per block.
import type { CircuitState } from './circuit-breaker.ts';
import type { GatewayClientEvent } from './gateway-client.ts';

export interface GatewayHealth {
  url: string;
  requests: number;
  /** Verified blocks it served, and their bytes. */
  blocks: number;
  bytes: number;
  /** Smoothed time to a verified block, ms (undefined until it served one). */
  latencyMs: number | undefined;
  /** Failed requests of any kind (HTTP errors, timeouts, bad bytes); "not found" is not a failure. */
  failures: number;
  notFound: number;
  /** Blocks whose bytes did not hash to their CID: this gateway served wrong data. */
  integrityErrors: number;
  breaker: CircuitState;
  lastError?: string;
  lastErrorAt?: number;
  lastIntegrityErrorAt?: number;
  updatedAt: number;
}

export type HealthRecords = Record<string, GatewayHealth>;

function fresh(url: string, now: number): GatewayHealth {
  return { url, requests: 0, blocks: 0, bytes: 0, latencyMs: undefined, failures: 0, notFound: 0, integrityErrors: 0, breaker: 'closed', updatedAt: now };
}

function smooth(prev: number | undefined, ms: number): number {
  return prev === undefined ? ms : 0.8 * prev + 0.2 * ms;
}

/** The records with one client event applied (a new object; the input is not changed). */
export function applyHealthEvent(records: HealthRecords, e: GatewayClientEvent, now: number): HealthRecords {
  if (e.type === 'retry') return records;
  const g = { ...(records[e.gateway] ?? fresh(e.gateway, now)), updatedAt: now };
  switch (e.type) {
    case 'request':
      g.requests++;
      break;
    case 'block':
      g.blocks++;
      g.bytes += e.bytes;
      g.latencyMs = smooth(g.latencyMs, e.ms);
      break;
    case 'car':
      g.blocks += e.blocks;
      g.bytes += e.bytes;
      if (e.blocks > 0) g.latencyMs = smooth(g.latencyMs, e.ms / e.blocks);
      break;
    case 'failure':
      // Lost hedges are not the gateway's fault, and a missing block is an answer, not a failure.
      if (e.error.name === 'AbortError') return records;
      if (e.error.name === 'NotFoundError') {
        g.notFound++;
        break;
      }
      g.failures++;
      g.lastError = `${e.error.name}: ${e.error.message}`;
      g.lastErrorAt = now;
      if (e.error.name === 'IntegrityError') {
        g.integrityErrors++;
        g.lastIntegrityErrorAt = now;
      }
      break;
    case 'circuit':
      g.breaker = e.state;
      break;
  }
  return { ...records, [e.gateway]: g };
}

/** Validate stored records (IndexedDB content is not trusted to have our shape). */
export function parseHealthRecords(doc: unknown): HealthRecords {
  const out: HealthRecords = {};
  if (!doc || typeof doc !== 'object') return out;
  for (const [url, r] of Object.entries(doc as Record<string, Partial<GatewayHealth>>)) {
    if (!r || typeof r !== 'object') continue;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
    out[url] = {
      ...fresh(url, n(r.updatedAt)),
      requests: n(r.requests), blocks: n(r.blocks), bytes: n(r.bytes), failures: n(r.failures), notFound: n(r.notFound),
      integrityErrors: n(r.integrityErrors), latencyMs: typeof r.latencyMs === 'number' ? r.latencyMs : undefined,
      breaker: r.breaker === 'open' || r.breaker === 'half-open' ? r.breaker : 'closed',
      ...(typeof r.lastError === 'string' ? { lastError: r.lastError, lastErrorAt: n(r.lastErrorAt) } : {}),
      ...(r.lastIntegrityErrorAt ? { lastIntegrityErrorAt: n(r.lastIntegrityErrorAt) } : {}),
    };
  }
  return out;
}

/** Where records live: `update` applies a change to the stored records atomically. */
export interface HealthSink {
  update(change: (records: HealthRecords) => HealthRecords): Promise<void>;
}

/**
 * Collects client events and writes them to the sink at most every `intervalMs` (one transaction
 * per batch). Pass `recorder.onEvent` as GatewayClientOptions.onEvent.
 */
export class HealthRecorder {
  private pending: Array<{ e: GatewayClientEvent; at: number }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly sink: HealthSink;
  private readonly intervalMs: number;

  constructor(sink: HealthSink, intervalMs = 250) {
    this.sink = sink;
    this.intervalMs = intervalMs;
  }

  readonly onEvent = (e: GatewayClientEvent): void => {
    if (e.type === 'retry') return;
    this.pending.push({ e, at: Date.now() });
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  };

  /** Write what is pending; resolves once it is stored. A failed write drops that batch (health is advisory). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.writing = this.writing
        .then(() => this.sink.update((records) => batch.reduce((r, { e, at }) => applyHealthEvent(r, e, at), records)))
        .catch(() => undefined);
    }
    return this.writing;
  }
}

/** A sink in memory (Node, tests). */
export class MemoryHealthSink implements HealthSink {
  records: HealthRecords = {};

  async update(change: (records: HealthRecords) => HealthRecords): Promise<void> {
    this.records = change(this.records);
  }
}
