// <tabshard-chat>: the embeddable chat. One script tag (widget.js) and
//   <tabshard-chat model="stories260k@1" max-tokens="40"></tabshard-chat>
// Attributes: model (name@range, name@tag or a CID), gateways (comma-separated base URLs; default
// the widget's own origin), registry (URL; default registry.json beside widget.js), kv, backend,
// n-ctx, temperature, top-k, top-p, min-p, repeat-penalty, seed, max-tokens, prompt, lazy, system (a
// system prompt). Multi-turn: each send() answers the whole conversation (the model's chat template,
// the engine's KV cache reused across turns); the `conversation` property reads or sets it (the
// messages after the system prompt); reset() starts over.
// Events (bubbling, composed): progress, ready, token, done, error. Theme with --tabshard-* custom
// properties (see styles) or ::part(…). Every widget on a page shares one engine and model.
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import type { ChatMessage } from '../engine/tokenizer/chat.ts';
import type { SamplingOptions } from '../engine/sampler.ts';
import type { BackendChoice, EngineGenerateResult, EngineModelInfo, EngineProgress } from '../workers/engine-api.ts';
import { renderAnswer } from '../ui/answer-text.ts';
import { explain } from '../ui/format.ts';
import { generateShared, loadShared, removeListener, sharedEngine, type ModelRequest } from './shared-engine.ts';
import { widgetStyles } from './widget-styles.ts';

let assetBase = import.meta.url.replace(/[^/]*$/, '');

/** Where widget.js lives: the default registry and gateway are found beside it. */
export function setAssetBase(url: string): void {
  assetBase = url;
}

/** The default gateway: the origin widget.js came from (the app's own server is one). */
export function assetOrigin(): string {
  return new URL(assetBase).origin;
}

const NUM_ATTRS: Array<[string, keyof SamplingOptions]> = [
  ['temperature', 'temperature'], ['top-k', 'topK'], ['top-p', 'topP'], ['min-p', 'minP'], ['repeat-penalty', 'repeatPenalty'], ['seed', 'seed'],
];

export class TabshardChat extends LitElement {
  static override properties = {
    model: { type: String },
    gateways: { type: String },
    registry: { type: String },
    kv: { type: String },
    backend: { type: String },
    maxTokens: { type: Number, attribute: 'max-tokens' },
    prompt: { type: String },
    system: { type: String },
    conversation: { attribute: false },
    lazy: { type: Boolean },
    info: { state: true },
    status: { state: true },
    fraction: { state: true },
    answer: { state: true },
    busy: { state: true },
    error: { state: true },
  };
  declare model: string;
  declare gateways: string | undefined;
  declare registry: string | undefined;
  declare kv: string | undefined;
  declare backend: BackendChoice | undefined;
  declare maxTokens: number;
  declare prompt: string;
  declare system: string | undefined;
  /** The messages after the system prompt, oldest first (set it to continue a saved conversation). */
  declare conversation: ChatMessage[];
  declare lazy: boolean;
  declare info: EngineModelInfo | undefined;
  declare status: string;
  declare fraction: number | undefined;
  declare answer: string;
  declare busy: boolean;
  declare error: string | undefined;
  private abort: AbortController | undefined;
  private loading = false;
  private readonly onProgress = (p: EngineProgress): void => this.progress(p);

  static override styles = widgetStyles;

  constructor() {
    super();
    this.model = '';
    this.maxTokens = 64;
    this.prompt = '';
    this.conversation = [];
    this.lazy = false;
    this.status = 'idle';
    this.answer = '';
    this.busy = false;
  }

  private get request(): ModelRequest {
    const gw = this.gateways?.split(',').map((g) => g.trim()).filter(Boolean);
    const nCtx = Number(this.getAttribute('n-ctx')) || undefined;
    return { spec: this.model, gateways: gw?.length ? gw : [assetOrigin()], backend: this.backend ?? 'auto', kv: this.kv, nCtx };
  }

  private get registryUrl(): string {
    return new URL(this.registry ?? 'registry.json', this.registry ? document.baseURI : assetBase).href;
  }

  sampling(): SamplingOptions {
    const out: SamplingOptions = {};
    for (const [attr, key] of NUM_ATTRS) {
      const v = this.getAttribute(attr);
      if (v !== null && v !== '' && Number.isFinite(Number(v))) out[key] = Number(v);
    }
    return out;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.lazy && this.model) void this.load().catch(() => undefined);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeListener(this.request, this.onProgress);
    this.abort?.abort();
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private fail(err: unknown): never {
    const e = err as Error;
    this.error = explain(err);
    this.status = 'error';
    this.emit('error', { name: e?.name ?? 'Error', message: e?.message ?? String(err), explanation: this.error });
    throw err;
  }

  private progress(p: EngineProgress): void {
    // Progress callbacks travel on their own port and may land after the load's result: ignore those.
    if (!this.loading) return;
    if (p.phase === 'fetch') {
      this.fraction = p.progress.bytesTotal ? p.progress.bytesDone / p.progress.bytesTotal : undefined;
      this.status = `fetching ${Math.round(100 * (this.fraction ?? 0))}%`;
    } else {
      this.fraction = p.bytesTotal ? p.bytesDone / p.bytesTotal : undefined;
      this.status = 'preparing';
    }
    this.emit('progress', p);
  }

  /** Load the widget's model (shared: a model another widget loaded is reused). */
  async load(): Promise<EngineModelInfo> {
    this.error = undefined;
    this.status = 'loading';
    this.loading = true;
    try {
      const engine = await sharedEngine(this.registryUrl);
      this.info = await loadShared(engine, this.request, this.onProgress);
      this.loading = false;
      this.status = 'ready';
      this.fraction = undefined;
      this.emit('ready', this.info);
      return this.info;
    } catch (err) {
      this.loading = false;
      return this.fail(err);
    }
  }

  /** Forget the conversation (the system prompt stays). */
  reset(): void {
    this.abort?.abort();
    this.conversation = [];
    this.answer = '';
  }

  /** Ask the model (the next turn of the conversation); resolves with the whole result (tokens also arrive as `token` events). */
  async send(prompt: string): Promise<EngineGenerateResult> {
    if (!this.info) await this.load();
    this.busy = true;
    this.error = undefined;
    this.answer = '';
    this.status = 'writing';
    this.abort = new AbortController();
    const before = this.conversation;
    const system: ChatMessage[] = this.system ? [{ role: 'system', content: this.system }] : [];
    // Shown at once; the engine's answer (with any turns it dropped to fit) replaces it at the end.
    this.conversation = [...before, { role: 'user', content: prompt }];
    let finished = false;
    try {
      const engine = await sharedEngine(this.registryUrl);
      const result = await generateShared(
        engine, this.request, { messages: [...system, ...this.conversation], maxTokens: this.maxTokens, sampling: this.sampling() },
        (e) => {
          if (finished) return;
          this.answer += e.text;
          this.emit('token', e);
        },
        this.abort.signal,
      );
      finished = true;
      this.answer = result.text;
      this.conversation = (result.messages ?? []).filter((m) => m.role !== 'system');
      this.status = 'ready';
      this.emit('done', result);
      return result;
    } catch (err) {
      this.conversation = before;
      return this.fail(err);
    } finally {
      finished = true;
      this.busy = false;
    }
  }

  override willUpdate(changed: PropertyValues<this>): void {
    // A conversation set from outside shows its last answer in the answer box, as if just written.
    if (changed.has('conversation') && !this.busy) {
      const last = this.conversation.at(-1);
      this.answer = last?.role === 'assistant' ? last.content : '';
    }
  }

  /** Earlier messages: all but the last answer (that one is the answer box below them). */
  private renderEarlier() {
    const c = this.conversation;
    const earlier = c.at(-1)?.role === 'assistant' ? c.slice(0, -1) : c;
    if (earlier.length === 0) return nothing;
    return html`<ol class="turns" part="turns" aria-label="Earlier messages">${earlier.map((m) => html`<li class=${m.role}>${m.role === 'user' ? m.content : renderAnswer(m.content)}</li>`)}</ol>`;
  }

  private submit(e: Event): void {
    e.preventDefault();
    const text = (this.renderRoot.querySelector('textarea') as HTMLTextAreaElement).value;
    if (text.trim() && !this.busy) void this.send(text).catch(() => undefined);
  }

  override render() {
    return html`
      <div class="frame" part="frame">
        <div class="head" part="header">
          <span class="name">${this.info?.label ?? this.model}</span>
          <span class="status" data-testid="widget-status" data-status=${this.status} title=${this.info?.backendReason ?? ''}>${this.status}${this.info ? ` · ${this.info.backend}` : ''}</span>
        </div>
        ${this.fraction !== undefined ? html`<progress part="progress" max="1" .value=${this.fraction} aria-label="Loading model"></progress>` : nothing}
        ${this.renderEarlier()}
        <div class="answer" part="answer" data-testid="widget-answer" role="log" aria-live="polite" aria-busy=${this.busy}>${renderAnswer(this.answer)}</div>
        ${this.error ? html`<p class="error" role="alert" part="error">${this.error}</p>` : nothing}
        <!-- Not a <form>: a sandboxed frame without allow-forms never fires submit. -->
        <div class="form" role="group" aria-label="Ask">
          <label class="sr-only" for="q">Message</label>
          <textarea id="q" part="input" rows="2" .value=${this.prompt} @keydown=${(e: KeyboardEvent) => {
            if (e.key === 'Enter' && !e.shiftKey) this.submit(e);
          }}></textarea>
          ${this.busy
            ? html`<button type="button" part="button" @click=${() => this.abort?.abort()}>Stop</button>`
            : html`<button type="button" part="button" data-testid="widget-send" ?disabled=${this.status === 'loading'} @click=${(e: Event) => this.submit(e)}>Send</button>`}
        </div>
      </div>
    `;
  }
}

/** Define the element (after setAssetBase: elements already in the page upgrade at once). */
export function defineTabshardChat(): void {
  if (!customElements.get('tabshard-chat')) customElements.define('tabshard-chat', TabshardChat);
}
