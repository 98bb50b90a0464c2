// <tabshard-storage>: what this browser keeps: stored models with their sizes (evict each), the
// origin's usage and quota, whether storage is persistent (and a button to ask for it). Reads the
// same IndexedDB store as the engine through the loader worker (LoaderClient).
import { LitElement, css, html, nothing } from 'lit';
import type { StorageStatus } from '../store/storage-status.ts';
import type { LoaderClient } from '../workers/loader-client.ts';
import type { ModelSummary } from '../workers/loader-api.ts';
import { bytes, explain } from './format.ts';
import { panelStyles } from './styles.ts';

export class StoragePanel extends LitElement {
  static override properties = {
    loader: { attribute: false },
    status: { state: true },
    models: { state: true },
    message: { state: true },
    error: { state: true },
  };
  declare loader: LoaderClient | undefined;
  declare status: (StorageStatus & { persistRequested: boolean | null }) | undefined;
  declare models: ModelSummary[];
  declare message: string | undefined;
  declare error: string | undefined;

  constructor() {
    super();
    this.models = [];
  }

  static override styles = [
    panelStyles,
    css`
      table { width: 100%; border-collapse: collapse; font-size: 0.92em; }
      th, td { text-align: left; padding: 0.3rem 0.4rem; border-bottom: 1px solid var(--ts-border); vertical-align: middle; }
      td.name { overflow-wrap: anywhere; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.75rem; margin: 0.5rem 0; }
      dt { color: var(--ts-muted); }
      dd { margin: 0; }
    `,
  ];

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('loader') && this.loader) void this.refresh();
  }

  async refresh(requestPersist = false): Promise<void> {
    if (!this.loader) return;
    try {
      const [status, models] = await Promise.all([this.loader.storageStatus({ requestPersist }), this.loader.api.models()]);
      this.status = status;
      this.models = models.sort((a, b) => (a.label ?? a.root).localeCompare(b.label ?? b.root));
      this.error = undefined;
    } catch (err) {
      this.error = explain(err);
    }
  }

  private async evict(m: ModelSummary): Promise<void> {
    if (!this.loader) return;
    try {
      const r = await this.loader.api.deleteModel(m.root);
      this.message = `Evicted ${m.label ?? m.root}: ${r.blocksDeleted} blocks, ${bytes(r.bytesFreed)} freed.`;
      await this.refresh();
      this.dispatchEvent(new CustomEvent('evicted', { detail: m.root, bubbles: true, composed: true }));
    } catch (err) {
      this.error = explain(err);
    }
  }

  private async persist(): Promise<void> {
    await this.refresh(true);
    const s = this.status;
    this.message = s?.persistRequested === null ? 'This browser does not offer persistent storage.'
      : s?.persisted || s?.persistRequested ? 'Storage is persistent: the browser will not evict these models on its own.'
      : 'The browser declined for now (it decides from how the site is used); stored models stay until space runs low.';
  }

  override render() {
    const s = this.status;
    const n = (v: number | null | undefined) => (v === null || v === undefined ? 'unknown' : bytes(v));
    return html`
      <section class="card" aria-labelledby="storage-h">
        <h2 id="storage-h">Storage</h2>
        ${s
          ? html`<dl data-testid="storage-status">
              <dt>Used by this site</dt><dd>${n(s.usage)}</dd>
              <dt>Available</dt><dd>${s.quota === null ? 'not reported by this browser' : `${n(s.available)} of ${n(s.quota)}`}</dd>
              <dt>Persistent</dt><dd data-testid="persisted">${s.persisted === null ? 'unknown' : s.persisted ? 'yes' : 'no'}</dd>
              <dt>Blocks stored</dt><dd>${s.store ? `${s.store.blocks} (${bytes(s.store.bytes)})` : '—'}</dd>
            </dl>`
          : html`<p class="muted">Reading storage…</p>`}
        ${this.models.length
          ? html`<table data-testid="stored-models">
              <thead><tr><th scope="col">Model</th><th scope="col">Size</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>${this.models.map(
                (m) => html`<tr data-testid="stored-model" data-root=${m.root}>
                  <td class="name">${m.label ?? m.root}</td><td>${bytes(m.size)}</td><td>${m.complete ? 'complete' : 'partial'} · ${m.blockCount} blocks</td>
                  <td><button data-testid="evict" aria-label=${`Evict ${m.label ?? m.root}`} @click=${() => this.evict(m)}>Evict</button></td>
                </tr>`,
              )}</tbody>
            </table>`
          : html`<p data-testid="no-models">No models stored in this browser.</p>`}
        <div class="row" style="margin-top:0.6rem">
          <button data-testid="persist" @click=${() => this.persist()}>Request persistent storage</button>
          <button data-testid="refresh-storage" @click=${() => this.refresh()}>Refresh</button>
        </div>
        <p role="status" class="muted" data-testid="storage-message">${this.message ?? nothing}</p>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      </section>
    `;
  }
}
customElements.define('tabshard-storage', StoragePanel);
