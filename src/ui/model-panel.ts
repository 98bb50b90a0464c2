// <tabshard-model-panel>: choose a model (a registry entry, a pasted CID, or a GGUF file dropped in
// and imported into the store), choose backend / KV mode / context, load it with progress, cancel
// and resume (blocks already verified and stored are never fetched again), and show what loaded.
import { LitElement, html, nothing } from 'lit';
import type { RegistryEntry } from '../store/registry.ts';
import type { EngineClient } from '../workers/engine-client.ts';
import type { BackendChoice, EngineModelInfo, EngineProgress } from '../workers/engine-api.ts';
import { bytes, explain, seconds } from './format.ts';
import { importModelFile, type ImportFileProgress } from './import-model.ts';
import { panelStyles } from './styles.ts';
import { modelStyles, renderEntry, renderMemory } from './model-view.ts';
import { DEFAULT_KV_MODE } from '../engine/kv/layout.ts';

export const KV_CHOICES = ['f16', 'q8', 'q4', 'q3', 'q2'] as const;

export class ModelPanel extends LitElement {
  static override properties = {
    engine: { attribute: false },
    entries: { attribute: false },
    gateways: { attribute: false },
    dbName: { attribute: false },
    selected: { state: true },
    cid: { state: true },
    backend: { state: true },
    kv: { state: true },
    progress: { state: true },
    upload: { state: true },
    sources: { state: true },
    model: { state: true },
    busy: { state: true },
    stopped: { state: true },
    imported: { state: true },
    error: { state: true },
  };
  declare engine: EngineClient | undefined;
  declare entries: RegistryEntry[];
  declare gateways: string[];
  declare dbName: string | undefined;
  declare selected: string;
  declare cid: string;
  declare backend: BackendChoice;
  declare kv: string;
  /** The last fetch progress (kept after the load: it says where the blocks came from). */
  declare progress: Extract<EngineProgress, { phase: 'fetch' }> | undefined;
  declare upload: Extract<EngineProgress, { phase: 'upload' }> | undefined;
  declare sources: Record<string, number>;
  declare model: EngineModelInfo | undefined;
  declare busy: 'load' | 'import' | undefined;
  /** The spec whose load was cancelled: Load becomes Resume for it. */
  declare stopped: string | undefined;
  declare imported: ImportFileProgress | undefined;
  declare error: string | undefined;
  private abort: AbortController | undefined;

  static override styles = [panelStyles, modelStyles];

  constructor() {
    super();
    this.entries = [];
    this.gateways = [];
    this.selected = '';
    this.cid = '';
    this.backend = 'auto';
    this.kv = DEFAULT_KV_MODE;
    this.sources = {};
  }

  get spec(): string {
    if (this.cid.trim()) return this.cid.trim();
    const e = this.entry;
    return e ? `${e.name}@${e.version}` : '';
  }

  private get entry(): RegistryEntry | undefined {
    return this.entries.find((e) => `${e.name}@${e.version}` === this.selected) ?? this.entries[0];
  }

  /** Select an entry by spec (after an import, the new one). */
  select(spec: string): void {
    this.selected = spec;
    this.cid = '';
  }

  private async load(): Promise<void> {
    if (!this.engine || !this.spec) return;
    const spec = this.spec;
    this.busy = 'load';
    this.error = undefined;
    this.sources = {};
    this.progress = undefined;
    this.upload = undefined;
    this.abort = new AbortController();
    const nCtx = Number((this.renderRoot.querySelector('#n-ctx') as HTMLInputElement | null)?.value) || undefined;
    try {
      this.model = await this.engine.load(
        { spec, gateways: this.gateways, backend: this.backend, kv: this.kv, nCtx },
        (p) => {
          if (p.phase === 'upload') return void (this.upload = p);
          this.progress = p;
          this.sources = { ...this.sources, [p.progress.source]: (this.sources[p.progress.source] ?? 0) + 1 };
        },
        this.abort.signal,
      );
      this.stopped = undefined;
      this.dispatchEvent(new CustomEvent('model-loaded', { detail: this.model, bubbles: true, composed: true }));
    } catch (err) {
      if ((err as Error).name === 'AbortError') this.stopped = spec;
      this.error = explain(err);
    } finally {
      this.busy = undefined;
      this.dispatchEvent(new CustomEvent('store-changed', { bubbles: true, composed: true }));
    }
  }

  private async importFiles(files: FileList | null | undefined): Promise<void> {
    const file = files?.[0];
    if (!file || this.busy) return;
    this.busy = 'import';
    this.error = undefined;
    this.abort = new AbortController();
    try {
      const entry = await importModelFile(file, { dbName: this.dbName, signal: this.abort.signal, onProgress: (p) => (this.imported = p) });
      this.dispatchEvent(new CustomEvent('model-imported', { detail: entry, bubbles: true, composed: true }));
      this.select(`${entry.name}@${entry.version}`);
    } catch (err) {
      this.error = explain(err);
    } finally {
      this.busy = undefined;
      this.imported = undefined;
      this.dispatchEvent(new CustomEvent('store-changed', { bubbles: true, composed: true }));
    }
  }

  private onDrop(e: DragEvent): void {
    e.preventDefault();
    (e.currentTarget as HTMLElement).classList.remove('over');
    void this.importFiles(e.dataTransfer?.files);
  }

  private renderProgress() {
    if (this.busy === 'import' && this.imported) {
      const p = this.imported;
      return html`<progress max=${p.total || 1} value=${p.bytes} aria-label="Importing file"></progress>
        <p class="muted" data-testid="import-progress">Hashing and storing: ${bytes(p.bytes)} of ${bytes(p.total)} · ${p.blocks} blocks</p>`;
    }
    const p = this.progress?.progress;
    const u = this.upload;
    const from = Object.entries(this.sources).map(([s, n]) => `${s === 'store' ? 'this browser' : s} (${n})`).join(', ');
    return html`${p
        ? html`<label class="muted" for="fetch-bar">Blocks (verified, stored)</label>
          <progress id="fetch-bar" max=${p.bytesTotal || 1} value=${p.bytesDone}></progress>
          <p class="muted" data-testid="load-progress" data-phase=${p.phase}>
            ${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)} · ${p.blocksDone}/${p.blocksTotal} blocks · ${bytes(p.rate)}/s · ETA ${seconds(p.etaSeconds)} · from ${from}
          </p>`
        : nothing}
      ${u && this.busy === 'load'
        ? html`<label class="muted" for="upload-bar">Weights to the ${this.backend === 'cpu' ? 'CPU' : 'device'}</label>
          <progress id="upload-bar" max=${u.bytesTotal} value=${u.bytesDone}></progress>
          <p class="muted">${bytes(u.bytesDone)} of ${bytes(u.bytesTotal)} (${u.tensor})</p>`
        : nothing}`;
  }

  private renderInfo() {
    const m = this.model;
    if (!m) return nothing;
    return html`<div data-testid="model-info" data-backend=${m.backend} data-loads=${m.loads}>
      <p>Loaded <strong>${m.label}</strong> on <strong>${m.backend === 'webgpu' ? `WebGPU (${m.adapter ?? 'adapter'})` : m.cpuPath ? `CPU (${m.cpuPath})` : 'CPU'}</strong>
        ${m.backendReason ? html`<span class="muted">(${m.backendReason})</span>` : nothing}
        · ${m.blocksFetched} blocks fetched, ${m.blocksFromStore} from this browser · ${seconds(m.loadSeconds)} · ${m.contextReason ?? `context ${m.config.nCtx}`}</p>
      ${renderMemory(m)}
    </div>`;
  }

  override render() {
    const resume = this.stopped !== undefined && this.stopped === this.spec;
    return html`
      <fieldset>
        <legend>Model</legend>
        <div class="picker">
          <label for="model">Registry entry</label>
          <select id="model" .value=${this.entry ? `${this.entry.name}@${this.entry.version}` : ''} ?disabled=${!!this.cid.trim()}
            @change=${(e: Event) => (this.selected = (e.target as HTMLSelectElement).value)}>
            ${this.entries.map((e) => html`<option value=${`${e.name}@${e.version}`}>${e.name}@${e.version} — ${bytes(e.size)}</option>`)}
          </select>
          ${this.entry && !this.cid.trim() ? renderEntry(this.entry) : nothing}
          <label for="cid">…or paste a CID</label>
          <input id="cid" data-testid="cid" placeholder="bafy… or Qm…" spellcheck="false" autocomplete="off" .value=${this.cid}
            @input=${(e: Event) => (this.cid = (e.target as HTMLInputElement).value)} />
          <div class="drop" data-testid="drop" @dragover=${(e: DragEvent) => { e.preventDefault(); (e.currentTarget as HTMLElement).classList.add('over'); }}
            @dragleave=${(e: DragEvent) => (e.currentTarget as HTMLElement).classList.remove('over')} @drop=${(e: DragEvent) => this.onDrop(e)}>
            <label for="file">…or drop a GGUF file here, or choose one:</label>
            <input id="file" data-testid="file" type="file" accept=".gguf" ?disabled=${!!this.busy}
              @change=${(e: Event) => void this.importFiles((e.target as HTMLInputElement).files)} />
          </div>
        </div>
        <div class="grid settings">
          <label>Backend<select id="backend" .value=${this.backend} @change=${(e: Event) => (this.backend = (e.target as HTMLSelectElement).value as BackendChoice)}>
            <option value="auto">auto</option><option value="webgpu">WebGPU</option><option value="cpu">CPU</option></select></label>
          <label>KV cache<select id="kv" data-testid="kv" .value=${this.kv} @change=${(e: Event) => (this.kv = (e.target as HTMLSelectElement).value)}>
            ${KV_CHOICES.map((k) => html`<option value=${k} ?selected=${k === this.kv}>${k}${k === DEFAULT_KV_MODE ? ' (default)' : ''}</option>`)}</select></label>
          <label>Context (tokens)<input id="n-ctx" type="number" min="16" max="131072" step="16" placeholder="model default" /></label>
        </div>
        <div class="row actions">
          <button class="primary" data-testid="load" ?disabled=${!!this.busy || !this.spec || !this.engine} @click=${() => this.load()}>${resume ? 'Resume' : 'Load'}</button>
          ${this.busy ? html`<button data-testid="cancel" @click=${() => this.abort?.abort()}>Cancel</button>` : nothing}
        </div>
        ${this.renderProgress()}
        <div aria-live="polite">${this.renderInfo()}</div>
        ${this.error ? html`<p class="error" role="alert" data-testid="load-error">${this.error}</p>` : nothing}
      </fieldset>
    `;
  }
}
customElements.define('tabshard-model-panel', ModelPanel);
