// <tabshard-import-url>: "Import from URL": a GGUF on any CORS-enabled HTTP(S) server becomes a
// stored, verified, registered model (src/store/url-import.ts), shareable by its CID from then on.
// An import cut off (a reload, a closed tab) is listed and resumes where it stopped. Emits
// `model-imported` (detail: the registry entry) like the file drop in the model panel.
import { LitElement, css, html, nothing } from 'lit';
import { IdbBlockstore } from '../store/idb-blockstore.ts';
import { IdbRegistry } from '../store/idb-registry.ts';
import { IdbSources } from '../store/idb-sources.ts';
import type { RegistryEntry } from '../store/registry.ts';
import { importFromUrl, importedEntry, markImported, type UrlImportProgress, type UrlImportState } from '../store/url-import.ts';
import { bytes, explain } from './format.ts';
import { panelStyles } from './styles.ts';

export interface UrlImportRequest {
  url: string;
  expectCid?: string;
  expectSha256?: string;
}

/** Import into the app's IndexedDB and register `<name>@0.0.0-local` (replacing an older one of that name). */
export async function importUrlIntoApp(
  req: UrlImportRequest,
  options: { dbName?: string; signal?: AbortSignal; onProgress?: (p: UrlImportProgress) => void },
): Promise<{ entry: RegistryEntry; resumedBytes: number; rangeUsed: boolean }> {
  const store = await IdbBlockstore.open({ dbName: options.dbName });
  try {
    const result = await importFromUrl(req.url, {
      store, states: new IdbSources(store.db), expectCid: req.expectCid || undefined, expectSha256: req.expectSha256 || undefined,
      signal: options.signal, onProgress: options.onProgress,
    });
    const entry = await importedEntry(result, store, req.url, options.signal);
    await markImported(store, result, `${entry.name}@${entry.version}`);
    const registry = new IdbRegistry(store.db);
    const current = await registry.load();
    const others = current.entries.filter((e) => !(e.name === entry.name && e.version === entry.version));
    await registry.importJson({ schema: current.schema, entries: [...others, entry] }, { merge: false });
    return { entry, resumedBytes: result.resumedBytes, rangeUsed: result.rangeUsed };
  } finally {
    store.close();
  }
}

export class ImportUrlPanel extends LitElement {
  static override properties = {
    dbName: { attribute: false },
    busy: { state: true },
    progress: { state: true },
    unfinished: { state: true },
    done: { state: true },
    error: { state: true },
  };
  declare dbName: string | undefined;
  declare busy: boolean;
  declare progress: UrlImportProgress | undefined;
  declare unfinished: UrlImportState[];
  declare done: { entry: RegistryEntry; resumedBytes: number; rangeUsed: boolean } | undefined;
  declare error: string | undefined;
  private abort: AbortController | undefined;

  static override styles = [panelStyles, css`
    form { display: grid; gap: 0.35rem; }
    code { overflow-wrap: anywhere; }
  `];

  constructor() {
    super();
    this.busy = false;
    this.unfinished = [];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    const store = await IdbBlockstore.open({ dbName: this.dbName });
    try {
      this.unfinished = await new IdbSources(store.db).unfinishedImports();
    } finally {
      store.close();
    }
  }

  async run(req: UrlImportRequest): Promise<void> {
    if (this.busy || !req.url.trim()) return;
    this.busy = true;
    this.error = undefined;
    this.done = undefined;
    this.abort = new AbortController();
    try {
      this.done = await importUrlIntoApp({ ...req, url: req.url.trim() }, { dbName: this.dbName, signal: this.abort.signal, onProgress: (p) => (this.progress = p) });
      this.dispatchEvent(new CustomEvent('model-imported', { detail: this.done.entry, bubbles: true, composed: true }));
    } catch (err) {
      this.error = explain(err);
    } finally {
      this.busy = false;
      this.progress = undefined;
      this.dispatchEvent(new CustomEvent('store-changed', { bubbles: true, composed: true }));
      await this.refresh();
    }
  }

  private submit(e: Event): void {
    e.preventDefault();
    const v = (id: string) => this.renderRoot.querySelector<HTMLInputElement>(`#${id}`)!.value.trim();
    void this.run({ url: v('import-url'), expectCid: v('expect-cid'), expectSha256: v('expect-sha256') });
  }

  private renderProgress() {
    const p = this.progress;
    if (!p || p.phase === 'verify') return this.busy ? html`<p class="muted">Checking…</p>` : nothing;
    const what = p.phase === 'resume' ? 'Re-reading what is stored' : 'Downloading, hashing and storing';
    return html`<progress max=${p.total ?? 1} value=${p.total ? p.bytes : 0}></progress>
      <p class="muted" data-testid="url-import-progress" data-phase=${p.phase} data-bytes=${p.bytes}>${what}: ${bytes(p.bytes)}${p.total ? ` of ${bytes(p.total)}` : ''}</p>`;
  }

  override render() {
    const d = this.done;
    return html`<section class="card" aria-labelledby="import-url-h">
      <h2 id="import-url-h">Import from URL</h2>
      <form @submit=${(e: Event) => this.submit(e)}>
        <label for="import-url">GGUF file URL (the server must allow CORS)</label>
        <input id="import-url" data-testid="import-url" type="url" placeholder="https://example.org/model.gguf" spellcheck="false" />
        <label for="expect-cid">Expected CID (optional)</label>
        <input id="expect-cid" data-testid="expect-cid" spellcheck="false" autocomplete="off" />
        <label for="expect-sha256">Expected sha256 (optional)</label>
        <input id="expect-sha256" data-testid="expect-sha256" spellcheck="false" autocomplete="off" />
        <div class="row">
          <button class="primary" type="submit" data-testid="import-start" ?disabled=${this.busy}>Import</button>
          ${this.busy ? html`<button type="button" data-testid="import-cancel" @click=${() => this.abort?.abort()}>Cancel</button>` : nothing}
        </div>
      </form>
      ${this.renderProgress()}
      ${this.unfinished.length && !this.busy
        ? html`<ul data-testid="unfinished-imports">${this.unfinished.map((s) => html`<li data-url=${s.url}>
            <code>${s.url}</code>: ${bytes(s.bytes)}${s.total ? ` of ${bytes(s.total)}` : ''} stored
            <button data-testid="import-resume" @click=${() => this.run({ url: s.url, expectCid: s.expectCid, expectSha256: s.expectSha256 })}>Resume</button></li>`)}</ul>`
        : nothing}
      ${d ? html`<p data-testid="import-result" data-cid=${d.entry.cid} data-sha256=${d.entry.sha256} data-resumed=${d.resumedBytes} data-range=${String(d.rangeUsed)}>
          Imported <strong>${d.entry.name}@${d.entry.version}</strong>: <code>${d.entry.cid}</code> (${bytes(d.entry.size)}${d.resumedBytes ? `, ${bytes(d.resumedBytes)} resumed` : ''})</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert" data-testid="import-error">${this.error}</p>` : nothing}
    </section>`;
  }
}
customElements.define('tabshard-import-url', ImportUrlPanel);
