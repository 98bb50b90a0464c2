// <tabshard-sources>: the gateways this browser fetches blocks from, which the person edits (add,
// remove, reorder, switch off, test), kept in IndexedDB; and each gateway's health as the gateway
// client recorded it during loads (latency, blocks and bytes served, failures, integrity errors,
// breaker state). A gateway that ever served a wrong block is marked as such. Emits
// `gateways-changed` (detail: the enabled URLs, in order) whenever the list changes.
import { LitElement, css, html, nothing } from 'lit';
import type { HealthRecords } from '../store/gateway-health.ts';
import {
  addGateway, defaultGateways, enabledUrls, moveGateway, probeGateway, removeGateway, setEnabled,
  type GatewaySetting, type ProbeResult,
} from '../store/gateway-settings.ts';
import { IdbSources } from '../store/idb-sources.ts';
import { openTabshardDb } from '../store/idb-schema.ts';
import { PUBLIC_GATEWAYS } from '../store/public-gateways.ts';
import { bytes, explain } from './format.ts';
import { panelStyles } from './styles.ts';

export class SourcesPanel extends LitElement {
  static override properties = {
    dbName: { attribute: false },
    list: { state: true },
    health: { state: true },
    probes: { state: true },
    error: { state: true },
  };
  declare dbName: string | undefined;
  declare list: GatewaySetting[] | undefined;
  declare health: HealthRecords;
  declare probes: Record<string, ProbeResult | 'testing'>;
  declare error: string | undefined;
  private sources: Promise<IdbSources> | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;

  static override styles = [
    panelStyles,
    css`
      table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
      th, td { text-align: left; padding: 0.25rem 0.35rem; border-bottom: 1px solid var(--ts-border); vertical-align: top; }
      td.url { overflow-wrap: anywhere; }
      td.num { font-variant-numeric: tabular-nums; }
      .bad { color: var(--ts-error); font-weight: 700; }
      .chip { display: inline-block; padding: 0 0.4rem; border: 1px solid var(--ts-border); border-radius: 999px; font-size: 0.8em; }
      button.small { padding: 0.1rem 0.45rem; min-height: 1.8rem; }
      form { display: flex; gap: 0.4rem; margin-top: 0.5rem; }
      form input { flex: 1; }
    `,
  ];

  constructor() {
    super();
    this.health = {};
    this.probes = {};
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.init();
    // Loads run in the engine worker, which writes health there: read it back while shown.
    this.poll = setInterval(() => void this.refreshHealth(), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.poll);
  }

  private db(): Promise<IdbSources> {
    this.sources ??= openTabshardDb(this.dbName).then((db) => new IdbSources(db));
    return this.sources;
  }

  private async init(): Promise<void> {
    try {
      const s = await this.db();
      let list = await s.gateways();
      if (!list) {
        list = await defaultGateways(location.origin, (url) => probeGateway(url, { timeoutMs: 3000 }));
        await s.setGateways(list);
      }
      this.list = list;
      this.announce();
      await this.refreshHealth();
    } catch (err) {
      this.error = explain(err);
    }
  }

  async refreshHealth(): Promise<void> {
    try {
      this.health = await (await this.db()).health();
    } catch {
      // advisory: keep what is shown
    }
  }

  private announce(): void {
    this.dispatchEvent(new CustomEvent('gateways-changed', { detail: enabledUrls(this.list ?? []), bubbles: true, composed: true }));
  }

  private async change(edit: (list: GatewaySetting[]) => GatewaySetting[]): Promise<void> {
    try {
      const next = edit(this.list ?? []);
      await (await this.db()).setGateways(next);
      this.list = next;
      this.error = undefined;
      this.announce();
    } catch (err) {
      this.error = explain(err);
    }
  }

  private async add(e: Event): Promise<void> {
    e.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('#new-gateway')!;
    await this.change((l) => addGateway(l, input.value));
    if (!this.error) input.value = '';
  }

  private async test(url: string): Promise<void> {
    this.probes = { ...this.probes, [url]: 'testing' };
    this.probes = { ...this.probes, [url]: await probeGateway(url) };
  }

  private async resetHealth(): Promise<void> {
    await (await this.db()).resetHealth();
    await this.refreshHealth();
  }

  private renderProbe(url: string) {
    const p = this.probes[url];
    if (!p) return nothing;
    if (p === 'testing') return html`<span class="muted" data-testid="probe" data-ok="pending">testing…</span>`;
    return p.ok
      ? html`<span class="ok" data-testid="probe" data-ok="true">answers (${Math.round(p.ms)} ms)</span>`
      : html`<span class="error" data-testid="probe" data-ok="false">${p.error}</span>`;
  }

  private renderRow(g: GatewaySetting, i: number, n: number) {
    const h = this.health[g.url];
    const wrong = (h?.integrityErrors ?? 0) > 0;
    return html`<tr data-testid="gateway" data-url=${g.url} data-enabled=${String(g.enabled)}>
      <td class="url">
        <label><input type="checkbox" .checked=${g.enabled} aria-label=${`Use ${g.url}`}
          @change=${(e: Event) => this.change((l) => setEnabled(l, g.url, (e.target as HTMLInputElement).checked))} /> ${g.url}</label>
        <span class="chip">${g.origin === 'page' ? 'this page' : g.origin}</span>
        ${wrong ? html`<div class="bad" data-testid="wrong-blocks">served wrong blocks</div>` : nothing}
        ${this.renderProbe(g.url)}
      </td>
      <td class="num" data-testid="health" data-url=${g.url} data-blocks=${h?.blocks ?? 0} data-failures=${h?.failures ?? 0}
        data-integrity=${h?.integrityErrors ?? 0} data-breaker=${h?.breaker ?? 'closed'}>
        ${h
          ? html`${h.latencyMs === undefined ? '—' : `${Math.round(h.latencyMs)} ms`} · ${h.blocks} blocks, ${bytes(h.bytes)}
            · ${h.failures} failed${h.integrityErrors ? html`, <span class="bad">${h.integrityErrors} wrong</span>` : nothing}
            · breaker ${h.breaker}${h.lastError ? html`<div class="muted" title=${h.lastError}>last: ${h.lastError.slice(0, 80)}</div>` : nothing}`
          : html`<span class="muted">not used yet</span>`}
      </td>
      <td>
        <button class="small" aria-label=${`Move ${g.url} up`} ?disabled=${i === 0} @click=${() => this.change((l) => moveGateway(l, g.url, -1))}>↑</button>
        <button class="small" aria-label=${`Move ${g.url} down`} ?disabled=${i === n - 1} @click=${() => this.change((l) => moveGateway(l, g.url, 1))}>↓</button>
        <button class="small" data-testid="test-gateway" @click=${() => this.test(g.url)}>Test</button>
        <button class="small" data-testid="remove-gateway" aria-label=${`Remove ${g.url}`} @click=${() => this.change((l) => removeGateway(l, g.url))}>Remove</button>
      </td>
    </tr>`;
  }

  override render() {
    const list = this.list;
    const missingPublic = PUBLIC_GATEWAYS.filter((u) => !list?.some((g) => g.url === u));
    return html`
      <section class="card" aria-labelledby="sources-h">
        <h2 id="sources-h">Gateways</h2>
        <p class="muted">Blocks are fetched from these, best-scoring first, and every block is checked against its CID.</p>
        ${list === undefined
          ? html`<p class="muted">Reading settings…</p>`
          : list.length === 0
            ? html`<p data-testid="no-gateways">No gateways: only models already stored here can load.</p>`
            : html`<table data-testid="gateways">
                <thead><tr><th scope="col">Gateway</th><th scope="col">Health (this browser)</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
                <tbody>${list.map((g, i) => this.renderRow(g, i, list.length))}</tbody>
              </table>`}
        <form @submit=${(e: Event) => this.add(e)}>
          <label class="sr-only" for="new-gateway">Gateway URL</label>
          <input id="new-gateway" data-testid="new-gateway" placeholder="https://gateway.example" spellcheck="false" autocomplete="off" />
          <button type="submit" data-testid="add-gateway">Add</button>
        </form>
        <div class="row" style="margin-top:0.5rem">
          ${missingPublic.length
            ? html`<button data-testid="add-public" @click=${() => this.change((l) => missingPublic.reduce((a, u) => addGateway(a, u, 'public'), l))}>Add public gateways</button>`
            : nothing}
          <button data-testid="reset-health" @click=${() => this.resetHealth()}>Reset health</button>
        </div>
        ${this.error ? html`<p class="error" role="alert" data-testid="sources-error">${this.error}</p>` : nothing}
      </section>
    `;
  }
}
customElements.define('tabshard-sources', SourcesPanel);
