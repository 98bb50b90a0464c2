// Import a file from any HTTP(S) server (CORS-enabled, for a page) into a block store: the body is
// streamed through the UnixFS importer with Kubo's options (the CID `tabshard cid` gives the same
// file) and through sha256, each block is stored as it is made, and the leaves stored so far are
// recorded, so after a reload the import resumes with a Range request where it stopped (the bytes
// already stored are read back from the store to rebuild the hashes, not downloaded again). An
// expected CID or sha256 that does not match deletes every block the import added: nothing is kept.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { CID } from 'multiformats/cid';
import type { AbortOptions, Blockstore } from './blockstore.ts';
import { importFile } from './cid.ts';
import { DownloadError, ImportMismatchError, throwIfAborted } from './errors.ts';
import { summarizeGguf } from './gguf-summary.ts';
import type { ModelStore } from './model-store.ts';
import type { RegistryEntry } from './registry.ts';
import { createRangeSource, decodeFileNode } from './unixfs-range.ts';
import { parseCid } from './verify.ts';

/** What survives a reload: the leaves stored so far, in file order. */
export interface UrlImportState {
  url: string;
  rawLeaves: boolean;
  /** File bytes under `leaves`. */
  bytes: number;
  leaves: string[];
  /** Blocks this import added to the store (deleted again on a mismatch). */
  created: string[];
  /** ETag or Last-Modified of the first response: a resumed request asks If-Range with it. */
  validator?: string;
  /** What the user expected, so that a resumed run checks the same. */
  expectCid?: string;
  expectSha256?: string;
  /** File size when the server said it. */
  total?: number;
  updatedAt: number;
}

export interface ImportStateStore {
  get(url: string): Promise<UrlImportState | undefined>;
  put(state: UrlImportState): Promise<void>;
  delete(url: string): Promise<void>;
}

export type UrlImportProgress =
  | { phase: 'resume'; bytes: number; total: number | undefined }
  | { phase: 'download'; bytes: number; total: number | undefined; blocks: number; resumedBytes: number }
  | { phase: 'verify' };

export interface UrlImportOptions extends AbortOptions {
  store: Blockstore & { delete(cid: CID, options?: AbortOptions): Promise<void> };
  /** Where progress is kept between runs (omit: not resumable). */
  states?: ImportStateStore;
  /** The CID the file must have. A CIDv0 asks for `ipfs add`'s defaults, anything else for `--cid-version=1` (raw leaves). */
  expectCid?: string;
  /** The sha256 (hex) the file must have. */
  expectSha256?: string;
  fetch?: typeof fetch;
  onProgress?: (p: UrlImportProgress) => void;
  /** How often the resume record is written, at most (default 500 ms). */
  saveIntervalMs?: number;
}

export interface UrlImportResult {
  root: CID;
  size: number;
  sha256: string;
  /** Every block of the DAG (leaves and interior nodes). */
  blocks: string[];
  /** Bytes taken from the store instead of the network (a resumed import). */
  resumedBytes: number;
  /** Whether the server answered a Range request with 206 (it can resume). */
  rangeUsed: boolean;
}

/** A registry-safe name from a URL's last path segment: `.../TinyLlama Q4_K.gguf` → `tinyllama-q4_k`. */
export function modelNameFromUrl(url: string): string {
  const last = decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '');
  const base = last.replace(/\.gguf$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return (base || 'model').slice(0, 100);
}

async function* bodyChunks(res: Response, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  if (!res.body) throw new DownloadError(`${res.url}: the answer has no body`);
  const reader = res.body.getReader();
  try {
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** The GET: `Range: bytes=from-` when resuming (If-Range keeps a changed file from being spliced). */
async function request(url: string, from: number, validator: string | undefined, opts: UrlImportOptions): Promise<Response> {
  const headers: Record<string, string> = {};
  if (from > 0) {
    headers.range = `bytes=${from}-`;
    if (validator) headers['if-range'] = validator;
  }
  const doFetch = opts.fetch ?? ((i, init) => fetch(i, init));
  let res: Response | undefined;
  // A kept-alive connection the server closed meanwhile fails before any byte: ask once more.
  for (let attempt = 0; !res; attempt++) {
    try {
      // no-store: the blocks are the copy we keep; the HTTP cache would hold the file a second time.
      res = await doFetch(url, { signal: opts.signal, headers, cache: 'no-store' });
    } catch (err) {
      throwIfAborted(opts.signal);
      if (attempt === 0) continue;
      throw new DownloadError(`${url}: ${(err as Error).message} (is the server up, and does it allow CORS?)`, { cause: err });
    }
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(`${url}: HTTP ${res.status}`, { status: res.status });
  }
  return res;
}

/** A stored resume record, if its leaves are all still in the store (else start over). */
async function usableState(url: string, rawLeaves: boolean, opts: UrlImportOptions): Promise<UrlImportState | undefined> {
  const s = await opts.states?.get(url);
  if (!s || s.rawLeaves !== rawLeaves || s.bytes === 0) return undefined;
  for (const c of s.leaves) if (!(await opts.store.has(parseCid(c)))) return undefined;
  return s;
}

export async function importFromUrl(url: string, opts: UrlImportOptions): Promise<UrlImportResult> {
  const { store, signal } = opts;
  const expected = opts.expectCid ? parseCid(opts.expectCid.trim()) : undefined;
  const expectedSha = opts.expectSha256?.trim().toLowerCase();
  if (expectedSha !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha)) throw new TypeError(`not a sha256 (64 hex digits): ${expectedSha}`);
  const rawLeaves = expected ? expected.version !== 0 : true;
  let state = await usableState(url, rawLeaves, opts);
  const res = await request(url, state?.bytes ?? 0, state?.validator, opts);
  const rangeUsed = res.status === 206;
  if (state && !rangeUsed) state = undefined; // the server sent the whole file: hash all of it
  const length = Number(res.headers.get('content-length') ?? NaN);
  const resumedBytes = state?.bytes ?? 0;
  const total = Number.isFinite(length) ? resumedBytes + length : undefined;
  const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
  const record: UrlImportState = state
    ? { ...state, created: [...state.created] }
    : { url, rawLeaves, bytes: 0, leaves: [], created: [], validator, expectCid: opts.expectCid, expectSha256: expectedSha, total, updatedAt: Date.now() };
  // Rebuilt from the puts as they come (a resumed prefix is put again: already stored, a no-op).
  record.leaves = [];
  record.bytes = 0;
  const all: string[] = [];
  const hash = sha256.create();
  let lastSave = 0;
  const save = async (force = false): Promise<void> => {
    if (!opts.states || (!force && Date.now() - lastSave < (opts.saveIntervalMs ?? 500))) return;
    lastSave = Date.now();
    await opts.states.put({ ...record, updatedAt: lastSave });
  };

  async function* source(): AsyncGenerator<Uint8Array> {
    if (state) {
      opts.onProgress?.({ phase: 'resume', bytes: 0, total });
      let done = 0;
      for (const c of state.leaves) {
        const cid = parseCid(c);
        const data = decodeFileNode(cid, await store.get(cid, { signal })).data ?? new Uint8Array(0);
        hash.update(data);
        done += data.length;
        opts.onProgress?.({ phase: 'resume', bytes: done, total });
        yield data;
      }
    }
    for await (const chunk of bodyChunks(res, signal)) {
      hash.update(chunk);
      yield chunk;
    }
  }

  const sink = {
    put: async (cid: CID, bytes: Uint8Array, o?: AbortOptions): Promise<void> => {
      const key = cid.toString();
      all.push(key);
      const isNew = !(await store.has(cid));
      await store.put(cid, bytes, o);
      if (isNew) record.created.push(key);
      // Puts come in file order (one at a time, below); a leaf is a node without children.
      const node = decodeFileNode(cid, bytes);
      if (node.children.length === 0) {
        record.leaves.push(key);
        record.bytes += node.data?.length ?? 0;
      }
      await save();
    },
  };
  let blocks = 0;
  let fileBytes = 0;
  let imported: Awaited<ReturnType<typeof importFile>>;
  try {
    imported = await importFile(source(), {
      rawLeaves,
      blockstore: sink,
      signal,
      blockWriteConcurrency: 1,
      onProgress: (e) => {
        if (e.type === 'bytes') fileBytes = e.bytes;
        else blocks++;
        if (fileBytes >= resumedBytes) opts.onProgress?.({ phase: 'download', bytes: fileBytes, total, blocks, resumedBytes });
      },
    });
  } catch (err) {
    await save(true).catch(() => undefined); // what is stored stays stored: the next run resumes
    throw err;
  }
  opts.onProgress?.({ phase: 'verify' });
  const digest = bytesToHex(hash.digest());
  const root: CID = imported.root;
  // (CID.equals is a type guard: its negation would narrow `expected` to never.)
  const cidMatches = expected === undefined || root.equals(expected);
  const mismatch = !cidMatches
    ? new ImportMismatchError('cid', String(opts.expectCid).trim(), root.toString(), url)
    : expectedSha !== undefined && digest !== expectedSha ? new ImportMismatchError('sha256', expectedSha, digest, url) : undefined;
  if (mismatch) {
    for (const c of new Set(record.created)) await store.delete(parseCid(c)).catch(() => undefined);
    await opts.states?.delete(url);
    throw mismatch;
  }
  await opts.states?.delete(url);
  return { root: imported.root, size: imported.size, sha256: digest, blocks: [...new Set(all)], resumedBytes, rangeUsed };
}

/** The registry entry of an imported file: `<name>@0.0.0-local`, tagged local and imported. */
export async function importedEntry(result: UrlImportResult, store: Blockstore, url: string, signal?: AbortSignal): Promise<RegistryEntry> {
  const source = await createRangeSource(result.root, (cid, o) => store.get(cid, o), { signal });
  const gguf = await summarizeGguf(source, signal);
  return {
    name: modelNameFromUrl(url),
    version: '0.0.0-local',
    cid: result.root.toString(),
    size: result.size,
    sha256: result.sha256,
    format: gguf ? 'gguf' : 'raw',
    tags: ['local', 'imported'],
    publishedAt: new Date().toISOString(),
    source: url,
    ...(gguf ? { gguf } : {}),
  };
}

/** Record an imported file as an available model of a ModelStore (the app's IndexedDB). */
export async function markImported(store: ModelStore, result: UrlImportResult, label: string): Promise<void> {
  const root = result.root.toString();
  await store.saveManifest({ root, label, size: result.size, blocks: result.blocks, manifestComplete: true });
  await store.markComplete(root);
}
