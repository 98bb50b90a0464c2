// The registry document kept in the app's IndexedDB (beside the blocks), so `name@^1` resolves
// offline after a reload. The registry logic itself is the pure functions of registry.ts.
import type { TabshardDatabase } from './idb-schema.ts';
import { IdbSources } from './idb-sources.ts';
import { addEntry, emptyRegistry, exportRegistry, importRegistry, type Registry } from './registry.ts';
import { mergeRegistries } from './registry-merge.ts';
import { fetchedDocs } from './registry-sources.ts';

const KEY = 'registry';

export class IdbRegistry {
  private readonly db: TabshardDatabase;

  constructor(db: TabshardDatabase) {
    this.db = db;
  }

  /** The stored registry (validated), or an empty one. */
  async load(): Promise<Registry> {
    const doc = await this.db.get('docs', KEY);
    return doc === undefined ? emptyRegistry() : importRegistry(doc);
  }

  /**
   * What names resolve against: this browser's registry, then the registries the user added (their
   * last fetched copies), the first one winning a name@version two of them publish differently.
   */
  async resolvable(): Promise<Registry> {
    const added = fetchedDocs(await new IdbSources(this.db).registries());
    if (added.length === 0) return this.load();
    return mergeRegistries([{ registry: 'this browser', doc: await this.load() }, ...added]).effective;
  }

  async save(registry: Registry): Promise<void> {
    await this.db.put('docs', JSON.parse(exportRegistry(registry)) as unknown, KEY);
  }

  /**
   * Import registry JSON. `merge` (default) adds its entries to what is stored (same rules as a
   * publish: tags move, a conflicting republish throws RegistryError); otherwise it replaces it.
   */
  async importJson(json: string | unknown, options: { merge?: boolean } = {}): Promise<Registry> {
    const incoming = importRegistry(json);
    let next = options.merge === false ? emptyRegistry() : await this.load();
    for (const e of incoming.entries) next = addEntry(next, e);
    await this.save(next);
    return next;
  }

  async exportJson(): Promise<string> {
    return exportRegistry(await this.load());
  }
}
