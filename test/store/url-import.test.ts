// Import from a URL against loopback HTTP servers with and without Range support: the CID is the
// one `tabshard cid` computes for the same file, an interrupted import resumes with a Range request
// (or starts over where the server has none), and a mismatch keeps nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { computeCids } from '../../src/store/cid.ts';
import { openStore } from '../../src/store/fs-blockstore.ts';
import { loadRegistry } from '../../src/store/publish.ts';
import { createRangeSource } from '../../src/store/unixfs-range.ts';
import { importFromUrl, importedEntry, type ImportStateStore, type UrlImportState } from '../../src/store/url-import.ts';
import { randomBytes, testSeed, withTempDir } from './helpers.ts';

const seed = testSeed('url-import');
const SIZE = 7 * 262144 + 1234; // 8 leaves, the last one short
const bytes = randomBytes(seed, SIZE);
const sha = createHash('sha256').update(bytes).digest('hex');
const servers: Server[] = [];
const ranges: string[] = [];

/** Serves `bytes` in 64 KiB writes, honouring `Range: bytes=N-` only when `range` is true. */
function fileServer(range: boolean) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const m = range ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    if (req.headers.range) ranges.push(`${range}:${req.headers.range}`);
    const from = m ? Number(m[1]) : 0;
    res.statusCode = m ? 206 : 200;
    if (range) res.setHeader('Accept-Ranges', 'bytes');
    if (m) res.setHeader('Content-Range', `bytes ${from}-${SIZE - 1}/${SIZE}`);
    res.setHeader('Content-Length', SIZE - from);
    res.setHeader('ETag', '"v1"');
    const body = bytes.subarray(from);
    let at = 0;
    const next = (): void => {
      while (at < body.length) {
        const ok = res.write(body.subarray(at, (at += 65536)));
        if (!ok) return void res.once('drain', next);
      }
      res.end();
    };
    next();
  };
}

async function listen(range: boolean): Promise<string> {
  const s = createServer(fileServer(range));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/models/Tiny%20Model.gguf`;
}

function memoryStates(): ImportStateStore & { map: Map<string, UrlImportState> } {
  const map = new Map<string, UrlImportState>();
  return {
    map,
    get: async (u) => structuredClone(map.get(u)),
    put: async (s) => void map.set(s.url, structuredClone(s)),
    delete: async (u) => void map.delete(u),
  };
}

let withRange: string;
let noRange: string;
let cids: Awaited<ReturnType<typeof computeCids>>;

beforeAll(async () => {
  withRange = await listen(true);
  noRange = await listen(false);
  cids = await computeCids(() => [bytes], { rawLeaves: true });
});

afterAll(() => servers.forEach((s) => s.close()));

/** An import stopped once `stopAt` file bytes have been hashed. */
async function interrupted(url: string, store: MemoryBlockstore, states: ImportStateStore, stopAt: number): Promise<void> {
  const ac = new AbortController();
  await expect(importFromUrl(url, {
    store, states, signal: ac.signal, saveIntervalMs: 0,
    onProgress: (p) => { if (p.phase === 'download' && p.bytes >= stopAt) ac.abort(); },
  })).rejects.toMatchObject({ name: 'AbortError' });
}

describe('importFromUrl', () => {
  it('computes the CID `tabshard cid --raw-leaves` gives, and Kubo\'s CIDv0 when that is what is expected', async () => {
    for (const url of [withRange, noRange]) {
      const store = new MemoryBlockstore();
      const r = await importFromUrl(url, { store, expectSha256: sha });
      expect(r).toMatchObject({ size: SIZE, sha256: sha, resumedBytes: 0, rangeUsed: false });
      expect(r.root.toString()).toBe(cids.cidv1RawLeaves);
      const source = await createRangeSource(r.root, (c) => store.get(c));
      expect(await source.read(0, SIZE)).toEqual(bytes);
      const entry = await importedEntry(r, store, url);
      expect(entry).toMatchObject({ name: 'tiny-model', version: '0.0.0-local', cid: cids.cidv1RawLeaves, sha256: sha, format: 'raw', source: url });
    }
    const v0 = await importFromUrl(withRange, { store: new MemoryBlockstore(), expectCid: cids.cidv0 });
    expect(v0.root.toString()).toBe(cids.cidv0);
  });

  it('resumes an interrupted import with a Range request; without Range support it starts over', async () => {
    const store = new MemoryBlockstore();
    const states = memoryStates();
    await interrupted(withRange, store, states, 3 * 262144);
    const saved = states.map.get(withRange)!;
    expect(saved.bytes).toBeGreaterThanOrEqual(2 * 262144);
    expect(saved.leaves.length * 262144).toBe(saved.bytes);
    ranges.length = 0;
    const r = await importFromUrl(withRange, { store, states });
    expect(r).toMatchObject({ resumedBytes: saved.bytes, rangeUsed: true, sha256: sha });
    expect(r.root.toString()).toBe(cids.cidv1RawLeaves);
    expect(ranges).toEqual([`true:bytes=${saved.bytes}-`]);
    expect(states.map.size).toBe(0);

    const store2 = new MemoryBlockstore();
    const states2 = memoryStates();
    await interrupted(noRange, store2, states2, 3 * 262144);
    const r2 = await importFromUrl(noRange, { store: store2, states: states2 });
    expect(r2).toMatchObject({ resumedBytes: 0, rangeUsed: false, sha256: sha });
    expect(r2.root.toString()).toBe(cids.cidv1RawLeaves);
  });

  it('a wrong sha256 or CID is an ImportMismatchError and leaves nothing stored, resumed blocks included', async () => {
    const store = new MemoryBlockstore();
    const states = memoryStates();
    await interrupted(withRange, store, states, 3 * 262144);
    expect(store.size).toBeGreaterThan(0);
    await expect(importFromUrl(withRange, { store, states, expectSha256: '0'.repeat(64) }))
      .rejects.toMatchObject({ name: 'ImportMismatchError', what: 'sha256', actual: sha });
    expect(store.size).toBe(0);
    expect(states.map.size).toBe(0);
    // CIDv1 of the dag-pb-leaves DAG: a CIDv1 asks for raw leaves, which give another root.
    await expect(importFromUrl(noRange, { store, expectCid: cids.cidv1 }))
      .rejects.toMatchObject({ name: 'ImportMismatchError', what: 'cid' });
    expect(store.size).toBe(0);
  });

  it('a server error is a DownloadError', async () => {
    const dead = createServer((_q, res) => { res.statusCode = 404; res.end(); });
    servers.push(dead);
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    await expect(importFromUrl(`http://127.0.0.1:${(dead.address() as AddressInfo).port}/x`, { store: new MemoryBlockstore() }))
      .rejects.toMatchObject({ name: 'DownloadError', status: 404 });
  });
});

describe('tabshard import (CLI)', () => {
  function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['bin/tabshard.js', 'import', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => resolve({ code: code ?? -1, out, err }));
    });
  }

  it('imports into a store dir and registers the file; `tabshard cid` of the same file agrees; a wrong sha256 keeps nothing', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'tiny.gguf');
      await writeFile(file, bytes);
      const cidOut = await new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['bin/tabshard.js', 'cid', file, '--raw-leaves'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let o = '';
        c.stdout.on('data', (d: Buffer) => (o += d.toString()));
        c.once('exit', () => resolve(o));
      });
      const store = join(dir, 'store');
      const bad = await cli([noRange, '--store', store, '--sha256', 'f'.repeat(64)]);
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/ImportMismatchError/);
      expect(await openStore(store).has(CID.parse(JSON.parse(cidOut).cidv1RawLeaves))).toBe(false);
      const ok = await cli([withRange, '--store', store, '--sha256', sha, '--expect-cid', JSON.parse(cidOut).cidv1RawLeaves]);
      expect(ok.code, ok.err).toBe(0);
      const entry = JSON.parse(ok.out) as { cid: string; sha256: string; name: string };
      expect(entry).toMatchObject({ cid: JSON.parse(cidOut).cidv1RawLeaves, sha256: sha, name: 'tiny-model' });
      expect((await loadRegistry(join(store, 'registry.json'))).entries.map((e) => e.cid)).toEqual([entry.cid]);
      expect(await openStore(store).has(CID.parse(entry.cid))).toBe(true);
      expect((await cli(['--help'])).code).toBe(0);
    });
  });
});
