// The gateways a person chose, in their order: pure list operations, the defaults (the page's own
// origin when it is a gateway, plus the public ones), and a probe that asks a gateway for the
// identity CID of zero bytes: a real trustless gateway answers it without any network of its own,
// while a static host answers 404 (or its index.html, which the content type gives away).
import { GatewayError, InvalidGatewayError, TimeoutError, abortReason } from './errors.ts';
import { PUBLIC_GATEWAYS } from './public-gateways.ts';

export interface GatewaySetting {
  url: string;
  /** Disabled gateways stay in the list (and keep their health) but are not asked. */
  enabled: boolean;
  /** Why it is in the list: the page's own origin, the public defaults, or added by the user. */
  origin: 'page' | 'public' | 'user';
}

export interface ProbeResult {
  url: string;
  ok: boolean;
  ms: number;
  /** What went wrong, in words, when not ok. */
  error?: string;
}

/** `bafkqaaa`: identity multihash of zero bytes, the conventional "are you a gateway?" probe. */
export const PROBE_CID = 'bafkqaaa';
const RAW = 'application/vnd.ipld.raw';

/** A gateway base URL: http(s) only, no query, no trailing `/` or `/ipfs`. InvalidGatewayError otherwise. */
export function normalizeGatewayUrl(input: string): string {
  let u: URL;
  try {
    u = new URL(input.trim());
  } catch {
    throw new InvalidGatewayError(`not a URL: ${JSON.stringify(input.slice(0, 200))}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new InvalidGatewayError(`gateways are http(s) URLs, not ${u.protocol}`);
  if (u.search || u.hash || u.username || u.password) throw new InvalidGatewayError(`a gateway URL has no query, fragment or credentials: ${u.href}`);
  return `${u.origin}${u.pathname.replace(/\/+$/, '').replace(/\/ipfs$/, '')}`;
}

export function addGateway(list: GatewaySetting[], url: string, origin: GatewaySetting['origin'] = 'user'): GatewaySetting[] {
  const norm = normalizeGatewayUrl(url);
  if (list.some((g) => g.url === norm)) throw new InvalidGatewayError(`${norm} is already in the list`);
  return [...list, { url: norm, enabled: true, origin }];
}

export function removeGateway(list: GatewaySetting[], url: string): GatewaySetting[] {
  return list.filter((g) => g.url !== url);
}

export function setEnabled(list: GatewaySetting[], url: string, enabled: boolean): GatewaySetting[] {
  return list.map((g) => (g.url === url ? { ...g, enabled } : g));
}

/** Move a gateway `delta` places (earlier gateways are asked first while scores are equal). */
export function moveGateway(list: GatewaySetting[], url: string, delta: number): GatewaySetting[] {
  const i = list.findIndex((g) => g.url === url);
  const j = Math.max(0, Math.min(list.length - 1, i + delta));
  if (i < 0 || i === j) return list;
  const out = [...list];
  const [g] = out.splice(i, 1);
  out.splice(j, 0, g!);
  return out;
}

export function enabledUrls(list: GatewaySetting[]): string[] {
  return list.filter((g) => g.enabled).map((g) => g.url);
}

/** Validate a stored list (IndexedDB content is not trusted to have our shape). */
export function parseGatewayList(doc: unknown): GatewaySetting[] | undefined {
  if (!Array.isArray(doc)) return undefined;
  const out: GatewaySetting[] = [];
  for (const g of doc as Partial<GatewaySetting>[]) {
    if (typeof g?.url !== 'string') continue;
    try {
      const url = normalizeGatewayUrl(g.url);
      if (out.some((o) => o.url === url)) continue;
      out.push({ url, enabled: g.enabled !== false, origin: g.origin === 'page' || g.origin === 'public' ? g.origin : 'user' });
    } catch {
      // an entry we cannot use: dropped
    }
  }
  return out;
}

/** Does `url` answer as a trustless gateway? Never throws (except on abort). */
export async function probeGateway(
  url: string,
  options: { signal?: AbortSignal; timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<ProbeResult> {
  const doFetch = options.fetch ?? ((i, init) => fetch(i, init));
  const timeoutMs = options.timeoutMs ?? 5000;
  const timer = new AbortController();
  const t = setTimeout(() => timer.abort(new TimeoutError(url, `no answer in ${timeoutMs} ms`)), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timer.signal]) : timer.signal;
  const started = performance.now();
  try {
    const res = await doFetch(`${url}/ipfs/${PROBE_CID}?format=raw`, { signal, headers: { accept: RAW }, cache: 'no-store' });
    await res.body?.cancel().catch(() => undefined);
    const ms = performance.now() - started;
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok) return { url, ok: false, ms, error: new GatewayError(url, `HTTP ${res.status}`).message };
    if (!type.startsWith(RAW)) return { url, ok: false, ms, error: `${url}: answered ${type || 'no content type'}, not a raw block (not a trustless gateway)` };
    return { url, ok: true, ms };
  } catch (err) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const e = timer.signal.aborted ? (timer.signal.reason as Error) : (err as Error);
    return { url, ok: false, ms: performance.now() - started, error: `${e.name}: ${e.message}` };
  } finally {
    clearTimeout(t);
  }
}

/**
 * The list a fresh browser starts with: the page's origin when it serves /ipfs/ (then the public
 * gateways are listed but off: the origin has what the page needs, and asking strangers would only
 * leak what is loaded), else the public gateways, on.
 */
export async function defaultGateways(pageOrigin: string | undefined, probe: (url: string) => Promise<ProbeResult>): Promise<GatewaySetting[]> {
  const own = pageOrigin && /^https?:/.test(pageOrigin) ? await probe(pageOrigin) : undefined;
  const list: GatewaySetting[] = own?.ok ? [{ url: normalizeGatewayUrl(pageOrigin!), enabled: true, origin: 'page' }] : [];
  for (const url of PUBLIC_GATEWAYS) {
    if (!list.some((g) => g.url === url)) list.push({ url, enabled: !own?.ok, origin: 'public' });
  }
  return list;
}
