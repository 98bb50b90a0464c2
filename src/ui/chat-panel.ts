// <tabshard-chat-panel>: the conversation with the loaded model: a system prompt, the turns so far
// (each new one answers the whole conversation with the model's chat template, the engine reusing
// its KV cache for what the turns before computed), streamed tokens (an ARIA live region), stop
// (keeps the partial answer), regenerate (replaces the last answer), sampling settings, and per-turn
// speed and reused tokens. Answers are text (code blocks monospace), never HTML. The model is loaded
// by <tabshard-model-panel>; both talk to the same EngineClient.
import { LitElement, css, html, nothing } from 'lit';
import type { EngineClient } from '../workers/engine-client.ts';
import type { EngineModelInfo } from '../workers/engine-api.ts';
import type { SamplingOptions } from '../engine/sampler.ts';
import type { ChatMessage } from '../engine/tokenizer/chat.ts';
import type { EngineGenerateResult } from '../workers/engine-api.ts';
import { renderAnswer } from './answer-text.ts';
import { explain } from './format.ts';
import { panelStyles } from './styles.ts';

interface Turn {
  prompt: string;
  text: string;
  result?: EngineGenerateResult;
  error?: string;
}

/** The conversation the engine answers: the system prompt, then each turn's prompt and answer. */
function messagesOf(system: string, turns: readonly Turn[]): ChatMessage[] {
  const out: ChatMessage[] = system.trim() ? [{ role: 'system', content: system }] : [];
  turns.forEach((t, i) => {
    out.push({ role: 'user', content: t.prompt });
    if (i < turns.length - 1) out.push({ role: 'assistant', content: t.text });
  });
  return out;
}

/** The sampling controls: [id, label, min, max, step, default]. Temperature 0 means greedy. */
const SAMPLING: Array<[keyof SamplingOptions, string, number, number, number, number]> = [
  ['temperature', 'Temperature', 0, 2, 0.05, 0],
  ['topK', 'Top-k', 0, 1000, 1, 40],
  ['topP', 'Top-p', 0, 1, 0.01, 0.95],
  ['minP', 'Min-p', 0, 1, 0.01, 0.05],
  ['repeatPenalty', 'Repeat penalty', 1, 2, 0.01, 1],
  ['seed', 'Seed', 0, 2 ** 32 - 1, 1, 42],
];

export class ChatPanel extends LitElement {
  static override properties = {
    engine: { attribute: false },
    model: { attribute: false },
    turns: { state: true },
    busy: { state: true },
    notice: { state: true },
  };
  declare engine: EngineClient | undefined;
  declare model: EngineModelInfo | undefined;
  declare turns: Turn[];
  declare busy: boolean;
  /** Told once the context was full and the oldest turns were dropped. */
  declare notice: string | undefined;
  private abort: AbortController | undefined;

  constructor() {
    super();
    this.turns = [];
    this.busy = false;
  }

  static override styles = [
    panelStyles,
    css`
      textarea { width: 100%; min-height: 4.5rem; resize: vertical; }
      ol.turns { list-style: none; padding: 0; margin: 0 0 0.75rem; display: grid; gap: 0.5rem; }
      .prompt { font-weight: 600; white-space: pre-wrap; }
      pre.code { font-family: ui-monospace, monospace; white-space: pre; overflow-x: auto; margin: 0.4rem 0; padding: 0.4rem 0.5rem; border-radius: 6px; background: color-mix(in srgb, CanvasText 7%, Canvas); }
      .answer { white-space: pre-wrap; border: 1px solid var(--ts-border); border-radius: 8px; padding: 0.6rem 0.75rem; min-height: 1.5rem; overflow-wrap: anywhere; }
      details { margin: 0.5rem 0; }
      summary { cursor: pointer; font-weight: 600; }
    `,
  ];

  private num(id: string): number | undefined {
    const v = (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | null)?.value;
    return v === undefined || v === '' ? undefined : Number(v);
  }

  /** The settings as the engine wants them (only the fields that are set). */
  sampling(): SamplingOptions {
    const out: SamplingOptions = {};
    for (const [id] of SAMPLING) {
      const v = this.num(id);
      if (v !== undefined && Number.isFinite(v)) out[id] = v;
    }
    return out;
  }

  private async run(prompt: string, replace: boolean): Promise<void> {
    if (!this.engine || !this.model || this.busy) return;
    const turn: Turn = { prompt, text: '' };
    this.turns = replace ? [...this.turns.slice(0, -1), turn] : [...this.turns, turn];
    const system = (this.renderRoot.querySelector('#system') as HTMLTextAreaElement | null)?.value ?? '';
    this.notice = undefined;
    this.busy = true;
    this.abort = new AbortController();
    // Token callbacks travel on their own MessagePort, so the last ones may arrive after the result:
    // once the result is in, it is the whole truth and late events are ignored.
    let finished = false;
    const update = (patch: Partial<Turn>): void => {
      const i = this.turns.indexOf(turn);
      Object.assign(turn, patch);
      if (i >= 0) this.turns = [...this.turns.slice(0, i), turn, ...this.turns.slice(i + 1)];
    };
    try {
      const result = await this.engine.generate(
        { messages: messagesOf(system, this.turns), maxTokens: this.num('max-tokens') ?? 64, sampling: this.sampling() },
        (e) => {
          if (!finished) update({ text: turn.text + e.text });
        },
        this.abort.signal,
      );
      finished = true;
      update({ text: result.text, result });
      this.dropTurns(result.dropped ?? []);
      this.dispatchEvent(new CustomEvent('generated', { detail: result, bubbles: true, composed: true }));
    } catch (err) {
      update({ error: explain(err) });
    } finally {
      finished = true;
      this.busy = false;
    }
  }

  /** The engine dropped the oldest turns to fit the context: drop them here too, and say so. */
  private dropTurns(dropped: readonly ChatMessage[]): void {
    const n = dropped.filter((m) => m.role === 'user').length;
    if (n === 0) return;
    this.turns = this.turns.slice(n);
    this.notice = `The context was full: the ${n === 1 ? 'oldest turn was' : `${n} oldest turns were`} dropped from the conversation.`;
  }

  private send(): void {
    const prompt = (this.renderRoot.querySelector('#prompt') as HTMLTextAreaElement).value;
    void this.run(prompt, false);
  }

  private renderTurn(t: Turn, last: boolean) {
    const r = t.result;
    return html`<li>
      <div class="prompt">${t.prompt}</div>
      <div class="answer" data-testid=${last ? 'output' : 'turn'} role=${last ? 'log' : nothing} aria-live=${last ? 'polite' : 'off'} aria-busy=${last && this.busy}>${renderAnswer(t.text)}</div>
      ${r
        ? html`<p class="muted" data-testid=${last ? 'stats' : nothing}>
            ${r.tokens.length} tokens (${r.stoppedBy}) · prefill ${r.prefillTokensPerSecond.toFixed(1)} tok/s · decode ${r.decodeTokensPerSecond.toFixed(1)} tok/s
            · ${r.reusedTokens} of ${r.promptTokens} prompt tokens reused${r.format && r.format !== 'template' ? html` · ${r.format} format` : nothing}
          </p>`
        : nothing}
      ${t.error ? html`<p class="error" role="alert" data-testid="error">${t.error}</p>` : nothing}
    </li>`;
  }

  override render() {
    const ready = !!this.model && !this.busy;
    const last = this.turns.at(-1);
    return html`
      <fieldset>
        <legend>Chat</legend>
        ${this.model ? nothing : html`<p class="muted">Load a model to start.</p>`}
        <label for="system">System prompt <span class="muted">(optional)</span></label>
        <textarea id="system" data-testid="system" rows="2" ?disabled=${this.busy}></textarea>
        ${this.notice ? html`<p class="muted" role="status" data-testid="context-notice">${this.notice}</p>` : nothing}
        <ol class="turns" aria-label="Conversation">${this.turns.map((t, i) => this.renderTurn(t, i === this.turns.length - 1))}</ol>
        <label for="prompt">Prompt <span class="muted">(Ctrl+Enter sends)</span></label>
        <textarea id="prompt" data-testid="prompt" @keydown=${(e: KeyboardEvent) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && ready) this.send();
        }}>Once upon a time</textarea>
        <div class="row">
          <button class="primary" data-testid="generate" ?disabled=${!ready} @click=${() => this.send()}>Generate</button>
          <button data-testid="stop" ?disabled=${!this.busy} @click=${() => this.abort?.abort()}>Stop</button>
          <button data-testid="regenerate" ?disabled=${!ready || !last} @click=${() => last && void this.run(last.prompt, true)}>Regenerate</button>
          <button data-testid="new-chat" ?disabled=${this.busy || this.turns.length === 0} @click=${() => { this.turns = []; this.notice = undefined; }}>New chat</button>
        </div>
        <details>
          <summary>Sampling settings</summary>
          <div class="grid">
            <label>Max tokens<input id="max-tokens" type="number" min="1" max="4096" value="60" /></label>
            ${SAMPLING.map(([id, label, min, max, step, value]) => html`<label>${label}<input id=${id} type="number" min=${min} max=${max} step=${step} value=${value} /></label>`)}
          </div>
          <p class="muted">Temperature 0 is greedy decoding: the other settings then have no effect.</p>
        </details>
      </fieldset>
    `;
  }
}
customElements.define('tabshard-chat-panel', ChatPanel);
