// Registries a person adds besides the site's own: by URL (any CORS-enabled HTTP(S) JSON file) or
// by CID (a registry.json published with `tabshard publish`, fetched block by block from the
// gateways and verified like any file). Fetching returns the validated registry document.
import { GatewayClient } from './gateway-client.ts';
import { DownloadError, RegistryError, throwIfAborted } from './errors.ts';
import { importRegistry, type Registry } from './registry.ts';
import { createRangeSource } from './unixfs-range.ts';
import { parseCid } from './verify.ts';

export interface RegistrySource {
  kind: 'url' | 'cid';
  /** The URL, or the CID string. */
  location: string;
  addedAt: number;
}

/** What the app keeps of a source: its last good copy (names resolve offline) and the last error. */
export interface FetchedRegistry {
  source: RegistrySource;
  doc?: Registry;
  fetchedAt?: number;
  error?: string;
}

/** A registry document bigger than this is refused (a registry lists entries, not weights). */
export const MAX_REGISTRY_BYTES = 16 * 1024 * 1024;

/** `cid:<cid>` or the URL: how entries name the registry they came from. */
export function sourceLabel(s: RegistrySource): string {
  return s.kind === 'cid' ? `cid:${s.location}` : s.location;
}

/** A source from what the user typed: a CID, or an http(s) URL. */
export function parseRegistrySource(input: string, now = Date.now()): RegistrySource {
  const text = input.trim().replace(/^ipfs:\/\//, '').replace(/^\/ipfs\//, '');
  if (/^https?:\/\//i.test(text)) return { kind: 'url', location: new URL(text).href, addedAt: now };
  try {
    return { kind: 'cid', location: parseCid(text).toString(), addedAt: now };
  } catch {
    throw new RegistryError(`a registry is added by CID or by http(s) URL, not ${JSON.stringify(input.slice(0, 100))}`);
  }
}

export async function fetchRegistry(
  source: RegistrySource,
  options: { gateways?: string[]; signal?: AbortSignal; fetch?: typeof fetch } = {},
): Promise<Registry> {
  const { signal } = options;
  throwIfAborted(signal);
  let text: string;
  if (source.kind === 'url') {
    const doFetch = options.fetch ?? ((i, init) => fetch(i, init));
    const res = await doFetch(source.location, { signal, cache: 'no-cache' }).catch((err: Error) => {
      throwIfAborted(signal);
      throw new DownloadError(`${source.location}: ${err.message}`, { cause: err });
    });
    if (!res.ok) throw new DownloadError(`${source.location}: HTTP ${res.status}`, { status: res.status });
    text = await res.text();
  } else {
    if (!options.gateways?.length) throw new RegistryError(`no gateway to fetch registry ${source.location} from`);
    const client = new GatewayClient({ gateways: options.gateways, fetch: options.fetch });
    const file = await createRangeSource(parseCid(source.location), (cid, o) => client.getBlock(cid, o), { signal });
    if (file.size > MAX_REGISTRY_BYTES) throw new RegistryError(`registry ${source.location} is ${file.size} bytes, more than a registry can be`);
    text = new TextDecoder().decode(await file.read(0, file.size, { signal }));
  }
  return importRegistry(text);
}

/** The added registries that have a fetched copy, named for mergeRegistries. */
export function fetchedDocs(list: FetchedRegistry[]): Array<{ registry: string; doc: Registry }> {
  return list.flatMap((r) => (r.doc ? [{ registry: sourceLabel(r.source), doc: r.doc }] : []));
}
