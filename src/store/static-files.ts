// The smallest static file server that can host the built app: GET/HEAD of files under one folder,
// `/` -> index.html, no directory listings, no paths escaping the folder. Node-only.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** The Content-Type for a file name (by extension; octet-stream when unknown). */
export function contentType(name: string): string {
  return types[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** Cross-origin isolation, so the page may use SharedArrayBuffer and threads. */
export function isolate(res: ServerResponse): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
}

/** True when it answered; false leaves the request to the caller (404). `isolate` (default true): COOP/COEP. */
export async function serveStatic(
  dir: string, pathname: string, req: IncomingMessage, res: ServerResponse, options: { isolate?: boolean } = {},
): Promise<boolean> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (rel.includes('\0')) return false;
  const root = resolve(dir);
  let file = resolve(join(root, rel));
  if (file !== root && !file.startsWith(root + sep)) return false;
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file);
    }
    if (!info.isFile()) return false;
    res.statusCode = 200;
    res.setHeader('Content-Type', types[extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Length', info.size);
    res.setHeader('Cache-Control', 'no-cache');
    if (options.isolate !== false) isolate(res);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
    return true;
  } catch {
    return false;
  }
}
