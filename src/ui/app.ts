// <tabshard-app>: the application shell: the model panel and chat (engine in a worker), the storage
// panel (loader worker, same IndexedDB), and the capability report. The registry seed comes from
// ./registry.json next to the app (written by the server that hosts it), merged with the entries
// stored in this browser (local imports); the gateways come from the sources panel (settings).
import { LitElement, css, html } from 'lit';
import { browserEnvironment, probeCapabilities, type CapabilityReport } from '../gpu/capabilities.ts';
import { importRegistry, list, type RegistryEntry } from '../store/registry.ts';
import { EngineClient } from '../workers/engine-client.ts';
import { LoaderClient } from '../workers/loader-client.ts';
import type { EngineModelInfo } from '../workers/engine-api.ts';
import { registerServiceWorker } from './sw-register.ts';
import type { StoragePanel } from './storage-panel.ts';
import type { ModelPanel } from './model-panel.ts';
import './caps-panel.ts';
import './chat-panel.ts';
import './model-panel.ts';
import './storage-panel.ts';
import '../shard/ui/share-panel.ts';
import '../shard/ui/join-panel.ts';
import { isShareLink } from '../shard/share-link.ts';
import './sources-panel.ts';
import './import-url-panel.ts';
import { pickerEntries, type RegistriesPanel } from './registries-panel.ts';

export class TabshardApp extends LitElement {
  static override properties = {
    report: { state: true },
    error: { state: true },
    entries: { state: true },
    model: { state: true },
    engine: { state: true },
    loader: { state: true },
    offline: { state: true },
    chosenGateways: { state: true },
  };
  declare report: CapabilityReport | undefined;
  declare error: string | undefined;
  declare entries: RegistryEntry[];
  declare model: EngineModelInfo | undefined;
  declare engine: EngineClient | undefined;
  declare loader: LoaderClient | undefined;
  declare offline: boolean;
  /** The enabled gateways from the settings panel, once it has read them. */
  declare chosenGateways: string[] | undefined;
  private registryJson: string | undefined;
  private readonly params = new URLSearchParams(location.search);

  static override styles = css`
    :host { display: block; max-width: 78rem; margin: 0 auto; padding: 1rem; line-height: 1.45; }
    header { display: flex; align-items: baseline; gap: 0.25rem 1rem; flex-wrap: wrap; margin-bottom: 1rem; }
    h1 { margin: 0; font-size: 1.6rem; }
    .tag { color: color-mix(in srgb, CanvasText 72%, Canvas); }
    .badge { border: 1px solid currentColor; border-radius: 999px; padding: 0 0.5rem; font-size: 0.85em; }
    .error { color: #b00020; }
    main { display: grid; gap: 1rem; grid-template-columns: minmax(0, 1fr); }
    @media (min-width: 62rem) { main { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); } }
    h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
    section.device { border: 1px solid color-mix(in srgb, CanvasText 30%, Canvas); border-radius: 8px; padding: 0.75rem 1rem; }
  `;

  constructor() {
    super();
    this.entries = [];
    this.offline = !navigator.onLine;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener('online', () => (this.offline = false));
    addEventListener('offline', () => (this.offline = true));
    if (!this.params.has('nosw')) void registerServiceWorker();
    void this.startEngine();
    probeCapabilities(browserEnvironment()).then(
      (r) => {
        this.report = r;
        (globalThis as { __tabshardCaps?: CapabilityReport }).__tabshardCaps = r;
        this.dispatchEvent(new CustomEvent('caps', { detail: r, bubbles: true, composed: true }));
      },
      (e: Error) => (this.error = `${e.name}: ${e.message}`),
    );
  }

  private get dbName(): string | undefined {
    return this.params.get('db') ?? undefined;
  }

  private async startEngine(): Promise<void> {
    try {
      const res = await fetch(new URL('registry.json', document.baseURI));
      if (res.ok) {
        this.registryJson = await res.text();
        this.entries = list(importRegistry(this.registryJson));
      }
    } catch {
      // No seed registry next to the app: the picker lists local imports only (CIDs still load).
    }
    const engine = new EngineClient();
    await engine.configure({ registryJson: this.registryJson, dbName: this.dbName });
    (globalThis as { __tabshardEngine?: EngineClient }).__tabshardEngine = engine;
    this.engine = engine;
    const loader = new LoaderClient();
    await loader.configure({ dbName: this.dbName });
    this.loader = loader;
    await this.refreshEntries();
  }

  /** Seed entries plus what this browser's registry holds (the engine merged the seed into it). */
  private async refreshEntries(): Promise<void> {
    if (!this.loader) return;
    try {
      // The engine merges the seed into the stored registry only when it first opens the store.
      const stored = importRegistry(await this.loader.api.exportRegistry()).entries;
      const seed = this.registryJson ? importRegistry(this.registryJson).entries : [];
      const key = (e: RegistryEntry) => `${e.name}@${e.version}`;
      const storedKeys = new Set(stored.map(key));
      this.entries = await pickerEntries(this.dbName, { schema: 'tabshard-registry/1', entries: [...seed.filter((e) => !storedKeys.has(key(e))), ...stored] });
    } catch {
      // keep the seed list
    }
  }

  /** A model imported (a dropped file, a URL): list it and select it. */
  private readonly onImported = async (e: CustomEvent<RegistryEntry>): Promise<void> => {
    await this.refreshEntries();
    this.renderRoot.querySelector<ModelPanel>('tabshard-model-panel')?.select(`${e.detail.name}@${e.detail.version}`);
    await this.renderRoot.querySelector<RegistriesPanel>('tabshard-registries')?.refresh();
  };

  private storage(): StoragePanel | null {
    return this.renderRoot.querySelector('tabshard-storage');
  }

  override render() {
    const r = this.report;
    return html`
      <header>
        <h1>tabshard</h1>
        <span class="tag">quantized language models in your browser, verified from IPFS</span>
        ${this.offline ? html`<span class="badge" role="status" data-testid="offline">offline</span>` : ''}
      </header>
      ${isShareLink(location.hash) ? html`<tabshard-join-panel .dbName=${this.dbName} .gateways=${this.gateways}></tabshard-join-panel>` : html`<main>
        <div>
          <tabshard-model-panel .engine=${this.engine} .entries=${this.entries} .gateways=${this.gateways} .dbName=${this.dbName}
            @model-loaded=${(e: CustomEvent<EngineModelInfo>) => (this.model = e.detail)}
            @model-imported=${this.onImported}
            @store-changed=${() => void this.storage()?.refresh()}></tabshard-model-panel>
          <tabshard-chat-panel .engine=${this.engine} .model=${this.model} .dbName=${this.dbName}></tabshard-chat-panel>
          <tabshard-share-panel .engine=${this.engine} .model=${this.model} .dbName=${this.dbName} .gateways=${this.gateways}></tabshard-share-panel>
        </div>
        <div>
          <tabshard-storage .loader=${this.loader}></tabshard-storage>
          <tabshard-sources .dbName=${this.dbName} @gateways-changed=${(e: CustomEvent<string[]>) => (this.chosenGateways = e.detail)}></tabshard-sources>
          <tabshard-import-url .dbName=${this.dbName} @model-imported=${this.onImported} @store-changed=${() => void this.storage()?.refresh()}></tabshard-import-url>
          <tabshard-registries .dbName=${this.dbName} .gateways=${this.gateways} .seedJson=${this.registryJson}
            @registries-changed=${() => void this.refreshEntries()}></tabshard-registries>
          <section class="device" aria-labelledby="device-h">
            <h2 id="device-h">This device</h2>
            ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<tabshard-caps .report=${r}></tabshard-caps>`}
          </section>
        </div>
      </main>`}
    `;
  }

  private get gateways(): string[] {
    // ?gateways= overrides the settings for this visit; before the settings are read, the origin.
    const g = this.params.get('gateways');
    return g ? g.split(',') : (this.chosenGateways ?? [location.origin]);
  }
}
customElements.define('tabshard-app', TabshardApp);
