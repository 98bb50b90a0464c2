// Where models come from, kept in the app's IndexedDB (the `docs` store, beside the registry): the
// gateway list the user edits, each gateway's health records, and the registries added by URL or
// CID with their last fetched copy (so names resolve offline). Each change is one transaction that
// reads and writes the document (no network inside it), so workers and the page can share them.
import { parseGatewayList, type GatewaySetting } from './gateway-settings.ts';
import { parseHealthRecords, type HealthRecords, type HealthSink } from './gateway-health.ts';
import type { TabshardDatabase } from './idb-schema.ts';

const GATEWAYS = 'gateways';
const HEALTH = 'gateway-health';

export class IdbSources implements HealthSink {
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

  /** Read-modify-write of one document in one transaction. */
  async updateDoc<T>(key: string, change: (doc: unknown) => T): Promise<T> {
    const tx = this.db.transaction('docs', 'readwrite');
    const next = change(await tx.store.get(key));
    await tx.store.put(next as unknown, key);
    await tx.done;
    return next;
  }
}
