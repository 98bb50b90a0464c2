import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CarReader } from '@ipld/car';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { FsBlockstore } from '../../src/store/fs-blockstore.ts';
import { Link } from '../../src/store/gateway-faults.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import { isValidBlock } from '../../src/store/verify.ts';
import { buildDag, randomBytes, testSeed, withTempDir } from './helpers.ts';

const seed = testSeed('gateway-server');
let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function car(res: Response): Promise<{ roots: string[]; cids: string[]; reader: CarReader }> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.ipld\.car; version=1/);
  const reader = await CarReader.fromBytes(new Uint8Array(await res.arrayBuffer()));
  const cids: string[] = [];
  for await (const b of reader.blocks()) {
    expect(await isValidBlock(b.cid, b.bytes)).toBe(true);
    cids.push(b.cid.toString());
  }
  return { roots: (await reader.getRoots()).map(String), cids, reader };
}

/** Leaves of the test DAG (chunk 1024, fanout 4) in file order, found by walking it. */
async function leavesOf(store: MemoryBlockstore, root: CID): Promise<string[]> {
  if (root.code === 0x55) return [root.toString()];
  const out: string[] = [];
  for (const l of dagPb.decode(await store.get(root)).Links) out.push(...(await leavesOf(store, l.Hash)));
  return out;
}

describe('gateway server', () => {
  it('serves raw blocks with the trustless gateway headers (GET, HEAD, Accept, CIDv0 and v1)', async () => {
    const bytes = randomBytes(seed, 5000);
    const { root, store } = await buildDag(bytes, { rawLeaves: false });
    gw = await startGateway({ store });
    expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const block = await store.get(root);
    for (const cid of [root.toString(), root.toV1().toString()]) {
      const res = await fetch(`${gw.url}/ipfs/${cid}?format=raw`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/vnd.ipld.raw');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('content-length')).toBe(String(block.length));
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(block);
    }
    const byAccept = await fetch(`${gw.url}/ipfs/${root}`, { headers: { accept: 'application/vnd.ipld.raw' } });
    expect(byAccept.headers.get('content-type')).toBe('application/vnd.ipld.raw');
    expect(new Uint8Array(await byAccept.arrayBuffer())).toEqual(block);
    const head = await fetch(`${gw.url}/ipfs/${root}?format=raw`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(block.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('404 for a missing block, 400 for a bad CID or bad params, 406 without a format, CORS preflight', async () => {
    gw = await startGateway({ store: new MemoryBlockstore() });
    const missing = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
    const r404 = await fetch(`${gw.url}/ipfs/${missing}?format=raw`);
    expect(r404.status).toBe(404);
    expect(r404.headers.get('access-control-allow-origin')).toBe('*');
    expect((await fetch(`${gw.url}/ipfs/${missing}?format=raw`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${gw.url}/ipfs/not-a-cid?format=raw`)).status).toBe(400);
    expect((await fetch(`${gw.url}/ipfs/${missing}/a/path?format=raw`)).status).toBe(400);
    expect((await fetch(`${gw.url}/ipfs/${missing}?format=car&dag-scope=nope`)).status).toBe(400);
    expect((await fetch(`${gw.url}/ipfs/${missing}?format=car&entity-bytes=9:2`)).status).toBe(400);
    expect((await fetch(`${gw.url}/ipfs/${missing}`)).status).toBe(406);
    const pre = await fetch(`${gw.url}/ipfs/${missing}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.test', 'access-control-request-method': 'GET' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect((await fetch(`${gw.url}/other`)).status).toBe(404);
  });

  it('CAR with dag-scope=block|all|entity, HEAD on CAR', async () => {
    const bytes = randomBytes(seed, 20 * 1024 + 5);
    const { root, store } = await buildDag(bytes);
    gw = await startGateway({ store });
    const block = await car(await fetch(`${gw.url}/ipfs/${root}?format=car&dag-scope=block`));
    expect(block.roots).toEqual([root.toString()]);
    expect(block.cids).toEqual([root.toString()]);
    const all = await car(await fetch(`${gw.url}/ipfs/${root}`, { headers: { accept: 'application/vnd.ipld.car' } }));
    expect(all.cids).toHaveLength(store.size);
    expect(all.cids[0]).toBe(root.toString()); // dfs pre-order: root first
    const entity = await car(await fetch(`${gw.url}/ipfs/${root}?format=car&dag-scope=entity`));
    expect(new Set(entity.cids)).toEqual(new Set(all.cids));
    const head = await fetch(`${gw.url}/ipfs/${root}?format=car`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/vnd\.ipld\.car/);
  });

  it('CAR entity-bytes holds only the covering leaves and the path to them', async () => {
    const bytes = randomBytes(seed, 40 * 1024); // 40 leaves of 1 KiB, fanout 4: 3 levels of nodes
    const { root, store } = await buildDag(bytes);
    const leaves = await leavesOf(store, root);
    expect(leaves).toHaveLength(40);
    gw = await startGateway({ store });
    const q = (range: string) => fetch(`${gw!.url}/ipfs/${root}?format=car&dag-scope=entity&entity-bytes=${range}`);
    const cases: Array<[string, number[]]> = [
      ['0:0', [0]],
      ['0:1023', [0]],
      ['1023:1024', [0, 1]],
      ['5000:9215', [4, 5, 6, 7, 8]],
      ['-10:*', [39]],
      ['39000:-1', [38, 39]],
      ['0:*', leaves.map((_, i) => i)],
      ['999999:*', []],
    ];
    for (const [range, want] of cases) {
      const got = await car(await q(range));
      expect(got.cids[0], range).toBe(root.toString());
      const gotLeaves = got.cids.filter((c) => leaves.includes(c));
      expect(gotLeaves, range).toEqual(want.map((i) => leaves[i]));
      // Everything else in the CAR is an interior node on the path (dag-pb).
      for (const c of got.cids) if (!leaves.includes(c)) expect(CID.parse(c).code).toBe(0x70);
      // And the bytes are all there: the CAR alone answers the range.
      const reader = got.reader;
      for (const i of want) expect((await reader.get(CID.parse(leaves[i]!)))!.bytes).toEqual(bytes.subarray(i * 1024, (i + 1) * 1024));
    }
    // path only: 40 leaves under fanout 4 -> root, one level-2 node, one level-1 node for leaf 0.
    expect((await car(await q('0:0'))).cids).toHaveLength(4);
  });

  it('serves a static folder at / with cross-origin isolation headers, not outside it', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'app', 'assets'), { recursive: true });
      await writeFile(join(dir, 'app', 'index.html'), '<!doctype html><p>hi</p>');
      await writeFile(join(dir, 'app', 'assets', 'a.js'), 'export {}');
      await writeFile(join(dir, 'secret.txt'), 'no');
      gw = await startGateway({ store: new MemoryBlockstore(), staticDir: join(dir, 'app') });
      const index = await fetch(`${gw.url}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect(index.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(await index.text()).toContain('hi');
      expect((await fetch(`${gw.url}/assets/a.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
      expect((await fetch(`${gw.url}/..%2fsecret.txt`)).status).toBe(404);
      expect((await fetch(`${gw.url}/nope.js`)).status).toBe(404);
    });
  });
});

/** Fetch a URL; its body, the body's sha256, and the ms from request to last byte. */
async function timedGet(url: string, accept?: string): Promise<{ body: Uint8Array; sha: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, accept ? { headers: { accept } } : {});
  expect(res.status, url).toBe(200);
  const body = new Uint8Array(await res.arrayBuffer());
  return { body, sha: sha256(body), ms: performance.now() - t0 };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('gateway server: bytesPerSecond (a slow link)', () => {
  const rate = 8 * 1024 * 1024;
  /** The least time `bytes` can take on the link: its burst (5 ms) and a ms of timer slack are allowed for. Only lower bounds are asserted. */
  const atLeastMs = (bytes: number): number => (bytes / rate) * 1000 - 10;

  /** A 1 MiB file (4 raw leaves of 256 KiB under a dag-pb root) and a lone 1 MiB raw block, in one store. */
  async function content() {
    const file = randomBytes(seed ^ 0x11, 1 << 20);
    const { root: fileRoot, store } = await buildDag(file, { chunk: 256 * 1024 });
    const blob = randomBytes(seed ^ 0x22, 1 << 20);
    const { root: blobCid } = await buildDag(blob, { chunk: 1 << 20, store });
    expect(blobCid.code).toBe(0x55); // one raw block
    return { file, fileRoot, blob, blobCid, store };
  }

  it('paces raw blocks, CARs and /ipfs/{cid}/ files; the bytes arrive intact', async () => {
    const { file, fileRoot, blob, blobCid, store } = await content();
    gw = await startGateway({ store, faults: { bytesPerSecond: rate } });

    const raw = await timedGet(`${gw.url}/ipfs/${blobCid}?format=raw`);
    expect(raw.sha).toBe(sha256(blob));
    expect(raw.ms).toBeGreaterThanOrEqual(atLeastMs(raw.body.length));

    const carGet = await timedGet(`${gw.url}/ipfs/${fileRoot}?format=car`);
    expect(carGet.body.length).toBeGreaterThan(file.length);
    expect(carGet.ms).toBeGreaterThanOrEqual(atLeastMs(carGet.body.length));
    const reader = await CarReader.fromBytes(carGet.body);
    const leaves: Uint8Array[] = [];
    for await (const b of reader.blocks()) {
      expect(await isValidBlock(b.cid, b.bytes)).toBe(true);
      if (b.cid.code === 0x55) leaves.push(b.bytes);
    }
    expect(sha256(Buffer.concat(leaves))).toBe(sha256(file));

    const web = await timedGet(`${gw.url}/ipfs/${fileRoot}/`); // path style: the deserialized file
    expect(web.sha).toBe(sha256(file));
    expect(web.ms).toBeGreaterThanOrEqual(atLeastMs(web.body.length));
  });

  it('one link per gateway: concurrent responses share the rate', async () => {
    const { file, fileRoot, blob, blobCid, store } = await content();
    gw = await startGateway({ store, faults: { bytesPerSecond: rate } });
    const t0 = performance.now();
    const [raw, web] = await Promise.all([timedGet(`${gw.url}/ipfs/${blobCid}?format=raw`), timedGet(`${gw.url}/ipfs/${fileRoot}/`)]);
    const ms = performance.now() - t0;
    expect(raw.sha).toBe(sha256(blob));
    expect(web.sha).toBe(sha256(file));
    // Each alone would take ~125 ms; sharing one link, both take the time of their sum.
    expect(ms).toBeGreaterThanOrEqual(atLeastMs(raw.body.length + web.body.length));
  });

  it('Link refuses a rate that is not > 0 (RangeError), and so does a gateway given a negative one', async () => {
    for (const bad of [0, -1, Number.NaN]) expect(() => new Link(bad)).toThrow(RangeError);
    await expect(startGateway({ store: new MemoryBlockstore(), faults: { bytesPerSecond: -1 } })).rejects.toBeInstanceOf(RangeError);
  });
});

describe('tabshard gateway (CLI)', () => {
  it('serves a store dir on 127.0.0.1 and honours fault flags (--fail-first, --link)', async () => {
    await withTempDir(async (dir) => {
      const bytes = randomBytes(seed, 300_000);
      const { root, store } = await buildDag(bytes, { chunk: 1 << 20 });
      await new FsBlockstore(join(dir, 'blocks')).put(root, await store.get(root));
      const child = spawn(process.execPath, ['bin/tabshard.js', 'gateway', '--port', '0', '--store', dir, '--fail-first', '1', '--link', '1'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let err = '';
          const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 20_000);
          child.stderr.on('data', (d: Buffer) => {
            err += d.toString();
            const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(err);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]!);
            }
          });
        });
        expect((await fetch(`${url}/ipfs/${root}?format=raw`)).status).toBe(503);
        const t0 = performance.now();
        const ok = await fetch(`${url}/ipfs/${root}?format=raw`);
        expect(ok.status).toBe(200);
        expect(new Uint8Array(await ok.arrayBuffer())).toEqual(bytes);
        // --link 1: 300 kB at 1 MiB/s take at least ~286 ms (a lower bound only).
        expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });
  });
});
