// A local IPFS Trustless Gateway (node-only): `GET/HEAD /ipfs/{cid}` as `application/vnd.ipld.raw`
// or `application/vnd.ipld.car`, served from a blockstore, with fault injection for tests and an
// optional static folder at `/` (the built app). Never trusted by our own client: it verifies too.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CID } from 'multiformats/cid';
import type { Blockstore } from './blockstore.ts';
import { carStream, parseEntityBytes, scopeBlocks, type DagScope } from './car.ts';
import { NotFoundError } from './errors.ts';
import { openStore } from './fs-blockstore.ts';
import { exporter } from 'ipfs-unixfs-exporter';
import { Link, corrupt, requestFault, shouldCorrupt, type GatewayFaults } from './gateway-faults.ts';
import { contentType, isolate, serveStatic } from './static-files.ts';
import { blockKey, parseCid } from './verify.ts';

export type { GatewayFaults } from './gateway-faults.ts';

export interface GatewayServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: this server is for local use and tests. */
  host?: string;
  /** A store directory (blocks under `<store>/blocks`), or a blockstore object. */
  store?: string | Blockstore;
  /** Serve this folder at `/` (index.html for `/`). */
  staticDir?: string;
  faults?: GatewayFaults;
  /** false: answer CAR requests with 501, as a raw-block-only gateway does (default true). */
  car?: boolean;
  /** Access-Control-Allow-Origin: * on every answer, so pages on other origins can fetch (default true). */
  cors?: boolean;
  /**
   * Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp on the
   * pages it serves (the static folder, sites under /ipfs/), making them cross-origin isolated:
   * SharedArrayBuffer, so WASM threads. Default: on for the static folder only, as before.
   */
  coopCoep?: boolean;
}

export interface GatewayStats {
  /** Requests to /ipfs/ (GET and HEAD). */
  requests: number;
  blocksServed: number;
  faults: { corrupt: number; error5xx: number; stall: number; closeMidBody: number };
}

export interface RunningGateway {
  url: string;
  port: number;
  stats: GatewayStats;
  close(): Promise<void>;
}

const RAW_TYPE = 'application/vnd.ipld.raw';
const CAR_TYPE = 'application/vnd.ipld.car';
const IDENTITY = 0x00;

function commonHeaders(res: ServerResponse, cors: boolean): void {
  if (cors) {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Accept, Range, Content-Type, User-Agent, X-Requested-With');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Type, X-Ipfs-Path, X-Ipfs-Roots, Etag');
  }
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Lets a cross-origin-isolated page (COEP require-corp) fetch from us.
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
}

function plain(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`${message}\n`);
}

type Wanted = { kind: 'raw' } | { kind: 'car'; scope: DagScope; range: ReturnType<typeof parseEntityBytes> };

/** Decide raw vs CAR from `?format=` (wins) or the Accept header; a string is a 400/406 message. */
function negotiate(url: URL, accept: string | undefined): Wanted | { error: number; message: string } {
  const format = url.searchParams.get('format');
  const kind = format ?? (accept?.includes(RAW_TYPE) ? 'raw' : accept?.includes(CAR_TYPE) ? 'car' : undefined);
  if (kind === 'raw') return { kind: 'raw' };
  if (kind !== 'car') {
    return format
      ? { error: 400, message: `unsupported format ${format}` }
      : { error: 406, message: 'trustless gateway: ask for ?format=raw or ?format=car' };
  }
  const scopeText = url.searchParams.get('dag-scope');
  const bytesText = url.searchParams.get('entity-bytes');
  if (scopeText !== null && !['block', 'entity', 'all'].includes(scopeText)) return { error: 400, message: `bad dag-scope ${scopeText}` };
  // entity-bytes only means something for an entity: without dag-scope it implies entity.
  const scope = (scopeText ?? (bytesText !== null ? 'entity' : 'all')) as DagScope;
  const range = bytesText === null ? undefined : parseEntityBytes(bytesText);
  if (bytesText !== null && !range) return { error: 400, message: `bad entity-bytes ${bytesText}` };
  if (range && scope !== 'entity') return { error: 400, message: 'entity-bytes needs dag-scope=entity' };
  return { kind: 'car', scope, range };
}

/** The socket took what was written (or the response closed: then the next write notices). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startGateway(options: GatewayServerOptions = {}): Promise<RunningGateway> {
  const store: Blockstore = typeof options.store === 'string' ? openStore(options.store) : (options.store ?? openStore('.store'));
  const faults = options.faults;
  const stats: GatewayStats = { requests: 0, blocksServed: 0, faults: { corrupt: 0, error5xx: 0, stall: 0, closeMidBody: 0 } };
  const link = faults?.bytesPerSecond !== undefined ? new Link(faults.bytesPerSecond) : undefined;

  /** Write body bytes, through the simulated link if there is one, waiting for the socket to drain. */
  async function send(res: ServerResponse, chunk: Uint8Array): Promise<void> {
    const step = link ? 64 * 1024 : Math.max(1, chunk.length);
    for (let at = 0; at < chunk.length; at += step) {
      const part = chunk.subarray(at, at + step);
      await link?.take(part.length);
      if (res.destroyed) throw new Error('response closed');
      if (!res.write(part)) await drained(res);
    }
  }


  /** A block as this (possibly faulty) gateway serves it. */
  async function serveBlock(cid: CID): Promise<Uint8Array> {
    const bytes = await store.get(cid);
    stats.blocksServed++;
    if (shouldCorrupt(faults, blockKey(cid), [cid.toString(), cid.toV1().toString()])) {
      stats.faults.corrupt++;
      return corrupt(bytes);
    }
    return bytes;
  }

  /**
   * `/ipfs/{cid}/path` without a trustless format: the file at that path of a UnixFS directory,
   * deserialized (a directory answers with its index.html), so a site published with
   * `tabshard publish DIR` — the app itself — runs from the gateway. The exporter resolves the path
   * (HAMT-sharded directories too); blocks come from our own store, which holds only verified ones.
   */
  async function serveWebsite(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    const path = segments.map((p) => decodeURIComponent(p)).join('/');
    // The exporter reads a block as an iterable of chunks.
    const blocks = {
      async *get(c: CID): AsyncGenerator<Uint8Array> {
        yield await store.get(c);
      },
    };
    try {
      let entry = await exporter(path, blocks);
      if (entry.type === 'directory') entry = await exporter(`${path}/index.html`, blocks);
      if (entry.type !== 'file' && entry.type !== 'raw') return plain(res, 404, `${path} is not a file`);
      res.statusCode = 200;
      res.setHeader('Content-Type', contentType(entry.name));
      res.setHeader('Content-Length', Number(entry.size));
      res.setHeader('X-Ipfs-Path', `/ipfs/${path}`);
      if (options.coopCoep === true) isolate(res);
      if (req.method === 'HEAD') return void res.end();
      for await (const chunk of entry.content()) await send(res, chunk);
      res.end();
    } catch {
      if (!res.headersSent) plain(res, 404, `/ipfs/${path} not found`);
      else res.destroy();
    }
  }

  async function handleIpfs(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const index = stats.requests++;
    if (faults?.delayMs) await sleep(faults.delayMs);
    const fault = requestFault(faults, index);
    if (fault === 'stall') {
      stats.faults.stall++;
      return; // never answer; close() destroys the socket
    }
    if (fault === 'error5xx') {
      stats.faults.error5xx++;
      return plain(res, faults?.error5xx?.status ?? 503, 'injected failure');
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const trustless = url.searchParams.has('format') || /vnd\.ipld\./.test(req.headers.accept ?? '');
    if (!trustless && (parts.length > 2 || (parts.length === 2 && url.pathname.endsWith('/')))) return serveWebsite(req, res, parts.slice(1));
    if (parts.length !== 2) return plain(res, 400, 'expected /ipfs/{cid} (paths are not supported)');
    let cid: CID;
    try {
      cid = parseCid(decodeURIComponent(parts[1]!));
    } catch {
      return plain(res, 400, `not a CID: ${parts[1]}`);
    }
    const wanted = negotiate(url, req.headers.accept);
    if ('error' in wanted) return plain(res, wanted.error, wanted.message);
    if (wanted.kind === 'car' && options.car === false) return plain(res, 501, 'this gateway serves raw blocks only');
    // Identity CIDs carry their bytes inline: answered without the store, as Kubo does. Clients
    // probe `bafkqaaa` (zero bytes) to learn whether an origin is a trustless gateway.
    if (cid.multihash.code === IDENTITY && wanted.kind === 'raw') {
      res.setHeader('Content-Type', RAW_TYPE);
      res.setHeader('Content-Length', cid.multihash.digest.length);
      return void res.end(req.method === 'HEAD' ? undefined : cid.multihash.digest);
    }
    if (!(await store.has(cid))) return plain(res, 404, `block ${cid} not found`);

    res.setHeader('X-Ipfs-Path', `/ipfs/${cid}`);
    res.setHeader('X-Ipfs-Roots', cid.toString());
    res.setHeader('Vary', 'Accept');
    res.setHeader('Cache-Control', 'public, max-age=29030400, immutable');
    if (wanted.kind === 'raw') {
      const bytes = await serveBlock(cid);
      res.setHeader('Content-Type', RAW_TYPE);
      res.setHeader('Content-Length', bytes.length);
      res.setHeader('Content-Disposition', `attachment; filename="${cid}.bin"`);
      res.setHeader('Etag', `"${cid}.raw"`);
      if (req.method === 'HEAD') return void res.end();
      if (fault === 'closeMidBody') {
        stats.faults.closeMidBody++;
        res.write(bytes.subarray(0, bytes.length >> 1));
        return void setTimeout(() => res.destroy(), 20);
      }
      if (!link) return void res.end(bytes);
      await send(res, bytes).then(() => res.end(), () => res.destroy());
      return;
    }
    res.setHeader('Content-Type', `${CAR_TYPE}; version=1; order=dfs; dups=n`);
    res.setHeader('Content-Disposition', `attachment; filename="${cid}.car"`);
    res.setHeader('Etag', `"${cid}.car.${wanted.scope}.${url.searchParams.get('entity-bytes') ?? ''}"`);
    if (req.method === 'HEAD') return void res.end();
    const getBlock = (c: CID): Promise<Uint8Array> => serveBlock(c);
    let written = 0;
    // The CAR writer yields each varint, CID and block as its own small chunk; written one by one
    // they reach a browser as thousands of tiny reads (Chromium then reads a CAR at a third of the
    // speed of the same bytes as a file). Coalesce into writes of up to 256 KiB, as Kubo's buffered
    // writer does.
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      if (fault === 'closeMidBody' && written > 0) {
        stats.faults.closeMidBody++;
        throw new Error('injected close mid-body');
      }
      written += chunk.length;
      await send(res, chunk);
    };
    try {
      for await (const chunk of carStream(cid, scopeBlocks(cid, wanted.scope, getBlock, wanted.range))) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 256 * 1024 || fault === 'closeMidBody') await flush();
      }
      await flush();
      res.end();
    } catch {
      res.destroy(); // a block missing mid-stream: a truncated CAR must not look complete
    }
  }

  const server = createServer((req, res) => {
    commonHeaders(res, options.cors !== false);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = async (): Promise<void> => {
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Max-Age', '86400');
        res.statusCode = 204;
        return void res.end();
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed');
      if (url.pathname.startsWith('/ipfs/')) return handleIpfs(req, res, url);
      if (options.staticDir && (await serveStatic(options.staticDir, url.pathname, req, res, { isolate: options.coopCoep !== false }))) return;
      plain(res, 404, 'not found');
    };
    route().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if ((err as Error).name === 'NotFoundError' || err instanceof NotFoundError) return plain(res, 404, (err as Error).message);
      plain(res, 500, (err as Error).message);
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // stalled requests included
      }),
  };
}
