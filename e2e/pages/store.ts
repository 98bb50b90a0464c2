// The loader worker behind a test page: Playwright drives window.tabshardStore, the page shows the
// load's progress (the screenshot in e2e/artifacts). Every call resolves to {ok, value} or
// {ok: false, error} so the spec sees the error's name, message and cause as they crossed the worker.
import type { LoadProgress } from '../../src/store/load-progress.ts';
import type { LoaderWorkerConfig } from '../../src/workers/loader-api.ts';
import { LoaderClient } from '../../src/workers/loader-client.ts';

export interface PageError {
  name: string;
  message: string;
  cause?: { name: string; message: string };
  props: Record<string, unknown>;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: PageError };

export interface PageLoadOptions {
  gateways?: string[];
  /** Abort (from the page, through the worker) once this many blocks are done. */
  abortAfterBlocks?: number;
}

const client = new LoaderClient();
const $ = (id: string): HTMLElement => document.getElementById(id)!;
const events: LoadProgress[] = [];

function describe(err: unknown): PageError {
  const e = err as Error & Record<string, unknown>;
  const cause = e.cause as Error | undefined;
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v !== 'object' && typeof v !== 'function') props[k] = v;
  return {
    name: String(e?.name), message: String(e?.message),
    cause: cause ? { name: String(cause.name), message: String(cause.message) } : undefined, props,
  };
}

async function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    const error = describe(err);
    $('error').textContent = `${error.name}: ${error.message}`;
    return { ok: false, error };
  }
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(2)} MB`;
}

function show(e: LoadProgress): void {
  const bar = $('bar') as HTMLProgressElement;
  bar.max = Math.max(1, e.bytesTotal);
  bar.value = e.bytesDone;
  $('status').textContent = `${e.phase}: ${mb(e.bytesDone)} of ${mb(e.bytesTotal)}, block ${e.blocksDone}/${e.blocksTotal}` +
    `, ${(e.rate / 1e6).toFixed(2)} MB/s${e.etaSeconds === null ? '' : `, ${e.etaSeconds.toFixed(1)} s left`}`;
  const facts: Array<[string, string]> = [[e.phase === 'done' ? 'now reading from' : 'last block from', e.source], ['blocks', `${e.blocksDone} / ${e.blocksTotal}`], ['phase', e.phase]];
  $('facts').replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    return [dt, dd];
  }));
}

const tabshardStore = {
  events,
  configure: (config: LoaderWorkerConfig) => settle(client.configure(config)),
  importRegistry: (json: string) => settle(client.api.importRegistry(json)),
  exportRegistry: () => settle(client.api.exportRegistry()),
  load(spec: string, options: PageLoadOptions = {}) {
    events.length = 0;
    $('spec').textContent = `loading ${spec}`;
    $('error').textContent = '';
    const ac = new AbortController();
    const loading = client.load(spec, {
      gateways: options.gateways,
      signal: ac.signal,
      onProgress: (e) => {
        events.push(e);
        show(e);
        if (options.abortAfterBlocks !== undefined && e.blocksDone >= options.abortAfterBlocks) ac.abort(new Error('test: abort mid-load'));
      },
    });
    void loading.then((r) => {
      $('spec').textContent = `loaded ${r.label ?? r.root} in ${r.seconds.toFixed(2)} s: ` +
        Object.entries(r.sources).map(([src, n]) => `${n} blocks from ${src}`).join(', ');
    }, () => undefined);
    return settle(loading);
  },
  readRange: async (spec: string, offset: number, length: number, gateways?: string[]) => {
    const r = await settle(client.readRange(spec, offset, length, { gateways }));
    // Bytes as a plain array (Playwright serialises it); only small ranges are read in tests.
    return r.ok ? { ok: true as const, value: { ...r.value, bytes: Array.from(r.value.bytes) } } : r;
  },
  readGgufHeader: (spec: string, gateways?: string[]) => settle(client.readGgufHeader(spec, { gateways })),
  stats: () => settle(client.api.stats()),
  models: () => settle(client.api.models()),
  // persist() may show a permission prompt (Firefox does), which headless never answers: opt in.
  storageStatus: (requestPersist = false) => settle(client.storageStatus({ requestPersist })),
  deleteModel: (spec: string) => settle(client.api.deleteModel(spec)),
  evict: (bytes: number) => settle(client.api.evict(bytes)),
  verifyAll: () => settle(client.api.verifyAll()),
  sha256: (spec: string) => settle(client.api.sha256(spec)),
};

export type TabshardStorePage = typeof tabshardStore;
(window as unknown as { tabshardStore: TabshardStorePage }).tabshardStore = tabshardStore;
$('status').textContent = 'ready';
