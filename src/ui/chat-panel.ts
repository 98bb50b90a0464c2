// <tabshard-chat-panel>: pick a model from the registry, load it (progress: bytes, rate, ETA, where
// blocks came from), and chat with streamed tokens. Talks to the engine worker through EngineClient.
import { LitElement, css, html, nothing } from 'lit';
import type { RegistryEntry } from '../store/registry.ts';
import type { EngineClient } from '../workers/engine-client.ts';
import type { EngineModelInfo, EngineProgress } from '../workers/engine-api.ts';
import type { GenerateResult } from '../engine/generate.ts';
import { bytes, explain, seconds } from './format.ts';

export class ChatPanel extends LitElement {
  static override properties = {
    engine: { attribute: false },
    entries: { attribute: false },
    gateways: { attribute: false },
    selected: { state: true },
    progress: { state: true },
    sources: { state: true },
    model: { state: true },
    output: { state: true },
    result: { state: true },
    busy: { state: true },
    error: { state: true },
  };
  declare engine: EngineClient | undefined;
  declare entries: RegistryEntry[];
  declare gateways: string[];
  declare selected: string;
  declare progress: EngineProgress | undefined;
  declare sources: Record<string, number>;
  declare model: EngineModelInfo | undefined;
  declare output: string;
  declare result: GenerateResult | undefined;
  declare busy: 'load' | 'generate' | undefined;
  declare error: string | undefined;
  private abort: AbortController | undefined;

  constructor() {
    super();
    this.entries = [];
    this.gateways = [];
    this.selected = '';
    this.sources = {};
    this.output = '';
  }

  static override styles = css`
    :host { display: block; }
    fieldset { border: 1px solid #8886; border-radius: 8px; margin: 0 0 1rem; padding: 0.75rem 1rem; }
    label { display: block; font-weight: 600; margin: 0.25rem 0; }
    select, textarea, input, button { font: inherit; }
    textarea { width: 100%; box-sizing: border-box; min-height: 4rem; }
    .row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
    progress { width: 100%; height: 1rem; }
    .output { white-space: pre-wrap; border: 1px solid #8886; border-radius: 8px; padding: 0.75rem; min-height: 3rem; }
    .error { color: #b00020; }
    .muted { opacity: 0.8; font-size: 0.9em; }
    button { padding: 0.4rem 0.9rem; border-radius: 6px; border: 1px solid #555; cursor: pointer; }
    button:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
  `;

  private get spec(): string {
    return this.selected || (this.entries[0] ? `${this.entries[0].name}@${this.entries[0].version}` : '');
  }

  private async load(): Promise<void> {
    if (!this.engine || !this.spec) return;
    this.busy = 'load';
    this.error = undefined;
    this.sources = {};
    this.abort = new AbortController();
    try {
      this.model = await this.engine.load(
        { spec: this.spec, gateways: this.gateways },
        (p) => {
          this.progress = p;
          if (p.phase === 'fetch') this.sources = { ...this.sources, [p.progress.source]: (this.sources[p.progress.source] ?? 0) + 1 };
        },
        this.abort.signal,
      );
      this.dispatchEvent(new CustomEvent('model-loaded', { detail: this.model, bubbles: true, composed: true }));
    } catch (err) {
      this.error = explain(err);
    } finally {
      this.busy = undefined;
    }
  }

  private async generate(): Promise<void> {
    const prompt = (this.renderRoot.querySelector('#prompt') as HTMLTextAreaElement).value;
    const maxTokens = Number((this.renderRoot.querySelector('#max-tokens') as HTMLInputElement).value) || 64;
    const temperature = Number((this.renderRoot.querySelector('#temperature') as HTMLInputElement).value) || 0;
    if (!this.engine || !this.model) return;
    this.busy = 'generate';
    this.error = undefined;
    this.output = '';
    this.result = undefined;
    this.abort = new AbortController();
    // Token callbacks travel on their own MessagePort, so the last ones may arrive after the result:
    // once the result is in, it is the whole truth and late events are ignored.
    let finished = false;
    try {
      this.result = await this.engine.generate(
        { prompt, maxTokens, sampling: { temperature } },
        (e) => {
          if (!finished) this.output += e.text;
        },
        this.abort.signal,
      );
      finished = true;
      this.output = this.result.text;
      this.dispatchEvent(new CustomEvent('generated', { detail: this.result, bubbles: true, composed: true }));
    } catch (err) {
      this.error = explain(err);
    } finally {
      finished = true;
      this.busy = undefined;
    }
  }

  private renderProgress() {
    const p = this.progress;
    if (!p) return nothing;
    if (p.phase === 'upload') {
      return html`<progress max=${p.bytesTotal} value=${p.bytesDone} aria-label="Uploading weights"></progress>
        <p class="muted">Uploading weights to the ${this.model?.backend ?? 'device'}: ${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)}</p>`;
    }
    const f = p.progress;
    return html`<progress max=${f.bytesTotal || 1} value=${f.bytesDone} aria-label="Fetching model"></progress>
      <p class="muted" data-testid="load-progress">
        ${bytes(f.bytesDone)} of ${bytes(f.bytesTotal)} · ${f.blocksDone}/${f.blocksTotal} blocks · ${bytes(f.rate)}/s · ETA ${seconds(f.etaSeconds)}
        · from ${Object.entries(this.sources).map(([s, n]) => `${s === 'store' ? 'this browser' : s} (${n})`).join(', ')}
      </p>`;
  }

  override render() {
    const m = this.model;
    return html`
      <fieldset>
        <legend>Model</legend>
        <label for="model">Registry entry</label>
        <div class="row">
          <select id="model" @change=${(e: Event) => (this.selected = (e.target as HTMLSelectElement).value)}>
            ${this.entries.map(
              (e) => html`<option value=${`${e.name}@${e.version}`}>${e.name}@${e.version} — ${bytes(e.size)}${e.gguf ? `, ${Object.keys(e.gguf.tensorTypes).join('/')}` : ''}${e.tags.length ? ` [${e.tags.join(', ')}]` : ''}</option>`,
            )}
          </select>
          <button data-testid="load" ?disabled=${!!this.busy || !this.spec} @click=${() => this.load()}>Load</button>
          ${this.busy === 'load' ? html`<button @click=${() => this.abort?.abort()}>Cancel</button>` : nothing}
        </div>
        ${this.renderProgress()}
        ${m
          ? html`<p data-testid="model-info" data-backend=${m.backend}>
              Loaded <strong>${m.label}</strong> on <strong>${m.backend === 'webgpu' ? `WebGPU (${m.adapter ?? 'adapter'})` : 'CPU'}</strong>
              ${m.backendReason ? html`<span class="muted">(${m.backendReason})</span>` : nothing}
              · ${m.blocksFetched} blocks fetched, ${m.blocksFromStore} from this browser · ${seconds(m.loadSeconds)}
              <br /><span class="muted">${m.backend === "webgpu" ? "GPU memory" : "Memory"}: weights ${bytes(m.memory.weights)}, KV cache ${bytes(m.memory.kv)}, scratch ${bytes(m.memory.scratch)}</span>
            </p>`
          : nothing}
      </fieldset>
      <fieldset>
        <legend>Chat</legend>
        <label for="prompt">Prompt</label>
        <textarea id="prompt" data-testid="prompt">Once upon a time</textarea>
        <div class="row">
          <label for="max-tokens">Max tokens</label><input id="max-tokens" type="number" min="1" max="2048" value="60" size="5" />
          <label for="temperature">Temperature</label><input id="temperature" type="number" min="0" max="2" step="0.1" value="0" size="4" />
          <button data-testid="generate" ?disabled=${!m || !!this.busy} @click=${() => this.generate()}>Generate</button>
          ${this.busy === 'generate' ? html`<button data-testid="stop" @click=${() => this.abort?.abort()}>Stop</button>` : nothing}
        </div>
        <div class="output" data-testid="output" aria-live="polite" aria-busy=${this.busy === 'generate'}>${this.output}</div>
        ${this.result
          ? html`<p class="muted" data-testid="stats" data-done="1">
              ${this.result.tokens.length} tokens (${this.result.stoppedBy}) · prefill ${this.result.prefillTokensPerSecond.toFixed(1)} tok/s ·
              decode ${this.result.decodeTokensPerSecond.toFixed(1)} tok/s
            </p>`
          : nothing}
      </fieldset>
      ${this.error ? html`<p class="error" role="alert" data-testid="error">${this.error}</p>` : nothing}
    `;
  }
}
customElements.define('tabshard-chat-panel', ChatPanel);
