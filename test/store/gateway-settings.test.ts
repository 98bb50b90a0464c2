import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { applyHealthEvent, HealthRecorder, MemoryHealthSink, parseHealthRecords } from '../../src/store/gateway-health.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import {
  addGateway, defaultGateways, enabledUrls, moveGateway, normalizeGatewayUrl, parseGatewayList, probeGateway, removeGateway, setEnabled,
} from '../../src/store/gateway-settings.ts';
import { IntegrityError, NotFoundError } from '../../src/store/errors.ts';
import { PUBLIC_GATEWAYS } from '../../src/store/public-gateways.ts';
import { withTempDir } from './helpers.ts';

const running: RunningGateway[] = [];
afterAll(async () => Promise.all(running.map((g) => g.close())));

describe('gateway settings', () => {
  it('normalizes URLs and refuses what is not a gateway base URL', () => {
    expect(normalizeGatewayUrl(' https://gw.example/ipfs/ ')).toBe('https://gw.example');
    expect(normalizeGatewayUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    for (const bad of ['ftp://x', 'not a url', 'https://x/?a=1', 'https://u:p@x']) {
      expect(() => normalizeGatewayUrl(bad)).toThrow(expect.objectContaining({ name: 'InvalidGatewayError' }));
    }
  });

  it('adds, removes, reorders and switches gateways off; duplicates are refused', () => {
    let l = addGateway(addGateway(addGateway([], 'https://a.example'), 'https://b.example/'), 'https://c.example');
    expect(() => addGateway(l, 'https://a.example/')).toThrow(expect.objectContaining({ name: 'InvalidGatewayError' }));
    l = moveGateway(l, 'https://c.example', -2);
    expect(enabledUrls(l)).toEqual(['https://c.example', 'https://a.example', 'https://b.example']);
    l = setEnabled(removeGateway(l, 'https://a.example'), 'https://c.example', false);
    expect(enabledUrls(l)).toEqual(['https://b.example']);
    expect(parseGatewayList([...l, { url: 'nope' }, l[0]])).toEqual(l);
    expect(parseGatewayList('x')).toBeUndefined();
  });

  it('probes a trustless gateway with the identity CID; a plain server is not one', async () => {
    const gw = await startGateway({ store: new MemoryBlockstore() });
    running.push(gw);
    expect(await probeGateway(gw.url)).toMatchObject({ ok: true, url: gw.url });
    const html = async () => new Response('<html>', { headers: { 'content-type': 'text/html' } });
    expect(await probeGateway('https://static.example', { fetch: html })).toMatchObject({ ok: false, error: expect.stringMatching(/not a raw block/) });
    const refused = async (): Promise<Response> => {
      throw new TypeError('fetch failed');
    };
    expect(await probeGateway('https://down.example', { fetch: refused })).toMatchObject({ ok: false, error: 'TypeError: fetch failed' });
  });

  it('defaults: the origin when it serves /ipfs/ (public ones listed but off), else the public gateways on', async () => {
    const yes = async (url: string) => ({ url, ok: true, ms: 1 });
    const no = async (url: string) => ({ url, ok: false, ms: 1 });
    const withOrigin = await defaultGateways('http://127.0.0.1:9', yes);
    expect(enabledUrls(withOrigin)).toEqual(['http://127.0.0.1:9']);
    expect(withOrigin.map((g) => g.url)).toEqual(['http://127.0.0.1:9', ...PUBLIC_GATEWAYS]);
    expect(enabledUrls(await defaultGateways('http://127.0.0.1:9', no))).toEqual([...PUBLIC_GATEWAYS]);
  });
});

describe('gateway server flags', () => {
  it('--cors and --coop-coep: CORS only when asked; the static app and /ipfs/ sites cross-origin isolated when asked', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'index.html'), '<!doctype html>');
      const plain = await startGateway({ store: new MemoryBlockstore(), staticDir: dir, cors: false, coopCoep: false });
      const open = await startGateway({ store: new MemoryBlockstore(), staticDir: dir, cors: true, coopCoep: true });
      running.push(plain, open);
      const a = await fetch(`${plain.url}/`);
      expect([a.headers.get('access-control-allow-origin'), a.headers.get('cross-origin-embedder-policy')]).toEqual([null, null]);
      const b = await fetch(`${open.url}/`);
      expect([b.headers.get('access-control-allow-origin'), b.headers.get('cross-origin-opener-policy'), b.headers.get('cross-origin-embedder-policy')])
        .toEqual(['*', 'same-origin', 'require-corp']);
    });
  });
});

describe('gateway health', () => {
  it('counts blocks, bytes, latency, failures and integrity errors from client events; hedges and 404s are no failures', () => {
    const g = 'http://gw';
    let r = {};
    const events = [
      { type: 'request', cid: 'c', gateway: g, round: 0, hedge: false },
      { type: 'block', cid: 'c', gateway: g, bytes: 100, ms: 10 },
      { type: 'car', cid: 'c', gateway: g, blocks: 4, bytes: 400, ms: 40 },
      { type: 'failure', cid: 'c', gateway: g, error: new IntegrityError('c', g) },
      { type: 'failure', cid: 'c', gateway: g, error: new NotFoundError('gone') },
      { type: 'failure', cid: 'c', gateway: g, error: Object.assign(new Error('hedge'), { name: 'AbortError' }) },
      { type: 'circuit', gateway: g, state: 'open' },
    ] as const;
    for (const e of events) r = applyHealthEvent(r, e, 5);
    expect(parseHealthRecords(r)[g]).toMatchObject({
      requests: 1, blocks: 5, bytes: 500, latencyMs: 10, failures: 1, notFound: 1, integrityErrors: 1, breaker: 'open', lastIntegrityErrorAt: 5,
    });
  });

  it('a recorder batches events into its sink', async () => {
    const sink = new MemoryHealthSink();
    const rec = new HealthRecorder(sink, 10_000);
    rec.onEvent({ type: 'block', cid: 'c', gateway: 'a', bytes: 1, ms: 1 });
    rec.onEvent({ type: 'block', cid: 'c', gateway: 'a', bytes: 1, ms: 1 });
    expect(sink.records).toEqual({});
    await rec.flush();
    expect(sink.records.a).toMatchObject({ blocks: 2, bytes: 2 });
  });
});
