// Where models come from, kept in the app's IndexedDB (the `docs` store, beside the registry): the
// gateway list the user edits, each gateway's health records, and the registries added by URL or
// CID with their last fetched copy (so names resolve offline). Each change is one transaction that
// reads and writes the document (no network inside it), so workers and the page can share them.
import { parseGatewayList, type GatewaySetting } from './gateway-settings.ts';
import { parseHealthRecords, type HealthRecords, type HealthSink } from './gateway-health.ts';
import type { TabshardDatabase } from './idb-schema.ts';
import type { ImportStateStore, UrlImportState } from './url-import.ts';
import { importRegistry } from './registry.ts';
import type { FetchedRegistry } from './registry-sources.ts';

const GATEWAYS = 'gateways';
const HEALTH = 'gateway-health';
const IMPORT = 'url-import:';
const REGISTRIES = 'registry-sources';

export class IdbSources implements HealthSink, ImportStateStore {
  readonly db: TabshardDatabase;

  constructor(db: TabshardDatabase) {
    this.db = db;
  }

  /** The stored gateway list, or undefined when the user never had one (then the defaults apply). */
  async gateways(): Promise<GatewaySetting[] | undefined> {
    return parseGatewayList(await this.db.get('docs', GATEWAYS));
  }

  async setGateways(list: GatewaySetting[]): Promise<void> {
    await this.db.put('docs', list.map((g) => ({ ...g })), GATEWAYS);
  }

  async health(): Promise<HealthRecords> {
    return parseHealthRecords(await this.db.get('docs', HEALTH));
  }

  async update(change: (records: HealthRecords) => HealthRecords): Promise<void> {
    await this.updateDoc(HEALTH, (doc) => change(parseHealthRecords(doc)));
  }

  /** Forget a gateway's records (or all of them). */
  async resetHealth(url?: string): Promise<void> {
    await this.update((r) => (url === undefined ? {} : Object.fromEntries(Object.entries(r).filter(([k]) => k !== url))));
  }

  /** Registries added by URL or CID, in the user's order, with their last fetched copies. */
  async registries(): Promise<FetchedRegistry[]> {
    const doc = await this.db.get('docs', REGISTRIES);
    if (!Array.isArray(doc)) return [];
    return (doc as FetchedRegistry[]).flatMap((r): FetchedRegistry[] => {
      if (!r?.source || typeof r.source.location !== 'string' || (r.source.kind !== 'url' && r.source.kind !== 'cid')) return [];
      try {
        return [{ ...r, doc: r.doc ? importRegistry(r.doc) : undefined }];
      } catch {
        return [{ source: r.source, error: 'the stored copy is not a valid registry' }];
      }
    });
  }

  async setRegistries(list: FetchedRegistry[]): Promise<void> {
    await this.db.put('docs', structuredClone(list), REGISTRIES);
  }

  /** Resume records of imports from URLs (url-import.ts), one per URL. */
  async get(url: string): Promise<UrlImportState | undefined> {
    const s = (await this.db.get('docs', IMPORT + url)) as UrlImportState | undefined;
    return s && Array.isArray(s.leaves) && Array.isArray(s.created) && typeof s.bytes === 'number' ? s : undefined;
  }

  async put(state: UrlImportState): Promise<void> {
    await this.db.put('docs', structuredClone(state), IMPORT + state.url);
  }

  async delete(url: string): Promise<void> {
    await this.db.delete('docs', IMPORT + url);
  }

  /** URLs whose import stopped before it finished (they resume from where they stopped). */
  async unfinishedImports(): Promise<UrlImportState[]> {
    const keys = (await this.db.getAllKeys('docs')).filter((k) => k.startsWith(IMPORT));
    return (await Promise.all(keys.map((k) => this.get(k.slice(IMPORT.length))))).filter((s): s is UrlImportState => s !== undefined);
  }

  /** Read-modify-write of one document in one transaction. */
  async updateDoc<T>(key: string, change: (doc: unknown) => T): Promise<T> {
    const tx = this.db.transaction('docs', 'readwrite');
    const next = change(await tx.store.get(key));
    await tx.store.put(next as unknown, key);
    await tx.done;
    return next;
  }
}
