// `tabshard import URL [--expect-cid C] [--sha256 H] [--store DIR] [--name N]`: download a file from
// an HTTP(S) server into a local store, its CID computed on the way (Kubo's options, as `tabshard
// cid`), registered in DIR/registry.json with its sha256. Interrupted (Ctrl-C), it resumes from
// where it stopped on the next run when the server supports Range requests. A mismatch with
// --expect-cid or --sha256 exits 1 and keeps nothing.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '../args.ts';
import { openStore } from '../../store/fs-blockstore.ts';
import { loadRegistry } from '../../store/publish.ts';
import { addEntry, exportRegistry } from '../../store/registry.ts';
import { importFromUrl, importedEntry, type ImportStateStore, type UrlImportState } from '../../store/url-import.ts';

export const summary = 'download a file from an HTTP(S) URL into the local store, CID computed on the way, and register it';

export const usage = `tabshard import URL [--expect-cid CID] [--sha256 HEX] [--store DIR] [--name NAME]
    --expect-cid: the CID the file must have (a CIDv0 means \`ipfs add\` defaults, else --cid-version=1)
    --sha256: the sha256 the file must have; on a mismatch nothing is kept (exit 1)
    --store: the store directory (default .store); the entry goes to DIR/registry.json as NAME@0.0.0-local`;

/** Resume records as small JSON files under DIR/imports/ (named by the URL's hash). */
function fileStates(dir: string): ImportStateStore {
  const path = (url: string) => join(dir, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.json`);
  return {
    async get(url) {
      try {
        const s = JSON.parse(await readFile(path(url), 'utf8')) as UrlImportState;
        return s.url === url ? s : undefined;
      } catch {
        return undefined;
      }
    },
    async put(state) {
      await mkdir(dir, { recursive: true });
      const tmp = `${path(state.url)}.tmp-${process.pid}`;
      await writeFile(tmp, JSON.stringify(state));
      await rename(tmp, path(state.url));
    },
    async delete(url) {
      await rm(path(url), { force: true });
    },
  };
}

export async function run(args: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const { values, positionals } = parse(args, { 'expect-cid': s, sha256: s, store: s, name: s, help: { type: 'boolean', short: 'h' } }, usage);
  if (values.help) {
    console.log(`usage: ${usage}\n\n${summary}.`);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  const url = positionals[0]!;
  const storeDir = values.store ?? '.store';
  const store = openStore(storeDir);
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    let last = 0;
    const result = await importFromUrl(url, {
      store, states: fileStates(join(storeDir, 'imports')), expectCid: values['expect-cid'], expectSha256: values.sha256, signal: ac.signal,
      onProgress: (p) => {
        if (p.phase !== 'download' || !process.stderr.isTTY || performance.now() - last < 200) return;
        last = performance.now();
        process.stderr.write(`\r${(p.bytes / 2 ** 20).toFixed(1)} MiB${p.total ? ` of ${(p.total / 2 ** 20).toFixed(1)} MiB` : ''}\x1b[K`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const entry = await importedEntry(result, store, url, ac.signal);
    if (values.name) entry.name = values.name;
    const registryPath = join(storeDir, 'registry.json');
    const current = await loadRegistry(registryPath);
    // Re-importing under the same name replaces the local entry (a changed file, a new CID).
    const others = { ...current, entries: current.entries.filter((e) => !(e.name === entry.name && e.version === entry.version)) };
    await writeFile(registryPath, exportRegistry(addEntry(others, entry)));
    console.log(JSON.stringify({ ...entry, resumedBytes: result.resumedBytes, rangeUsed: result.rangeUsed, registry: registryPath }, null, 2));
    return 0;
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ImportMismatchError' || e.name === 'DownloadError' || e.name === 'AbortError') {
      console.error(`tabshard import: ${e.name}: ${e.message}`);
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
