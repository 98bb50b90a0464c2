// A GGUF file dropped on the page becomes a stored, registered model: its UnixFS DAG is built with
// the same options as `tabshard publish` (so the CID matches a publish of the same file), every
// block goes to the app's IndexedDB store, the model record is marked available, and a registry
// entry `<file name>@0.0.0-local` tagged `local` is added beside the seed entries.
import type { CID } from 'multiformats/cid';
import { importFile } from '../store/cid.ts';
import { summarizeGguf } from '../store/gguf-summary.ts';
import { IdbBlockstore } from '../store/idb-blockstore.ts';
import { IdbRegistry } from '../store/idb-registry.ts';
import type { GgufSummary, RegistryEntry } from '../store/registry.ts';

export interface ImportFileProgress {
  bytes: number;
  total: number;
  blocks: number;
}

/** A registry-safe name from a file name: `TinyLlama Q4_K.gguf` → `tinyllama-q4_k`. */
export function modelNameFor(fileName: string): string {
  const base = fileName.replace(/\.gguf$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return (base || 'model').slice(0, 100);
}

function summary(file: Blob): Promise<GgufSummary | undefined> {
  return summarizeGguf({ size: file.size, read: async (o: number, l: number) => new Uint8Array(await file.slice(o, o + l).arrayBuffer()) });
}

async function sha256Hex(file: Blob): Promise<string> {
  // WebCrypto has no streaming digest: the file is read whole once (fine for the models a tab runs).
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function importModelFile(
  file: File,
  options: { dbName?: string; signal?: AbortSignal; onProgress?: (p: ImportFileProgress) => void } = {},
): Promise<RegistryEntry> {
  const gguf = await summary(file);
  const store = await IdbBlockstore.open({ dbName: options.dbName });
  try {
    const cids: CID[] = [];
    let bytes = 0;
    const imported = await importFile(file.stream(), {
      rawLeaves: true,
      blockstore: store,
      signal: options.signal,
      onProgress: (e) => {
        if (e.type === 'bytes') bytes = e.bytes;
        else cids.push(e.cid);
        options.onProgress?.({ bytes, total: file.size, blocks: cids.length });
      },
    });
    const root = imported.root.toString();
    const entry: RegistryEntry = {
      name: modelNameFor(file.name),
      version: '0.0.0-local',
      cid: root,
      size: imported.size,
      sha256: await sha256Hex(file),
      format: gguf ? 'gguf' : 'raw',
      tags: ['local'],
      publishedAt: new Date().toISOString(),
      ...(gguf ? { gguf } : {}),
    };
    const label = `${entry.name}@${entry.version}`;
    await store.saveManifest({ root, label, size: imported.size, blocks: cids.map(String), manifestComplete: true });
    await store.markComplete(root);
    // Replace rather than clash: re-importing a changed file under the same name moves the entry.
    const registry = new IdbRegistry(store.db);
    const current = await registry.load();
    await registry.importJson({ schema: current.schema, entries: [...current.entries.filter((e) => !(e.name === entry.name && e.version === entry.version)), entry] }, { merge: false });
    return entry;
  } finally {
    store.close();
  }
}
