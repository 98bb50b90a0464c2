// <tabshard-app>: the application shell: the model picker and chat (engine in a worker), and the
// capability report. The registry seed comes from ./registry.json next to the app (written by the
// server that hosts it); the same origin is the default gateway.
import { LitElement, css, html } from 'lit';
import { browserEnvironment, probeCapabilities, type CapabilityReport } from '../gpu/capabilities.ts';
import { importRegistry, list, type RegistryEntry } from '../store/registry.ts';
import { EngineClient } from '../workers/engine-client.ts';
import './caps-panel.ts';
import './chat-panel.ts';

export class TabshardApp extends LitElement {
  static override properties = { report: { state: true }, error: { state: true }, entries: { state: true } };
  declare report: CapabilityReport | undefined;
  declare error: string | undefined;
  declare entries: RegistryEntry[];
  private engine: EngineClient | undefined;
  private registryJson: string | undefined;

  static override styles = css`
    :host { display: block; max-width: 60rem; margin: 0 auto; padding: 1rem; line-height: 1.45; }
    header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
    h1 { margin: 0; font-size: 1.6rem; }
    .tag { opacity: 0.75; }
    .error { color: #b00020; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    this.entries = [];
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

  private async startEngine(): Promise<void> {
    try {
      const res = await fetch(new URL('registry.json', document.baseURI));
      if (res.ok) {
        this.registryJson = await res.text();
        this.entries = list(importRegistry(this.registryJson));
      }
    } catch {
      // No seed registry next to the app: the picker starts empty (CIDs can still be loaded).
    }
    this.engine = new EngineClient();
    const params = new URLSearchParams(location.search);
    await this.engine.configure({ registryJson: this.registryJson, dbName: params.get('db') ?? undefined });
    (globalThis as { __tabshardEngine?: EngineClient }).__tabshardEngine = this.engine;
    this.requestUpdate();
  }

  private get gateways(): string[] {
    const g = new URLSearchParams(location.search).get('gateways');
    return g ? g.split(',') : [location.origin];
  }

  override render() {
    return html`
      <header>
        <h1>tabshard</h1>
        <span class="tag">quantized language models in your browser, verified from IPFS</span>
      </header>
      <main>
        <tabshard-chat-panel .engine=${this.engine} .entries=${this.entries} .gateways=${this.gateways}></tabshard-chat-panel>
        <h2>This device</h2>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<tabshard-caps .report=${this.report}></tabshard-caps>`}
      </main>
    `;
  }
}
customElements.define('tabshard-app', TabshardApp);
