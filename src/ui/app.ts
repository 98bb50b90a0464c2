// <tabshard-app>: the application shell. For now: the capability report; the model picker, chat,
// storage and shard map arrive with the store and engine.
import { LitElement, css, html } from 'lit';
import { browserEnvironment, probeCapabilities, type CapabilityReport } from '../gpu/capabilities.ts';
import './caps-panel.ts';

export class TabshardApp extends LitElement {
  static override properties = { report: { state: true }, error: { state: true } };
  declare report: CapabilityReport | undefined;
  declare error: string | undefined;

  static override styles = css`
    :host { display: block; max-width: 60rem; margin: 0 auto; padding: 1rem; line-height: 1.45; }
    header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
    h1 { margin: 0; font-size: 1.6rem; }
    .tag { opacity: 0.75; }
    .error { color: #b00020; }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    probeCapabilities(browserEnvironment()).then(
      (r) => {
        this.report = r;
        (globalThis as { __tabshardCaps?: CapabilityReport }).__tabshardCaps = r;
        this.dispatchEvent(new CustomEvent('caps', { detail: r, bubbles: true, composed: true }));
      },
      (e: Error) => (this.error = `${e.name}: ${e.message}`),
    );
  }

  override render() {
    return html`
      <header>
        <h1>tabshard</h1>
        <span class="tag">quantized language models in your browser, verified from IPFS</span>
      </header>
      <main>
        <h2>This device</h2>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<tabshard-caps .report=${this.report}></tabshard-caps>`}
      </main>
    `;
  }
}
customElements.define('tabshard-app', TabshardApp);
