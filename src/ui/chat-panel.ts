// <tabshard-chat-panel>: the conversation with the loaded model: a system prompt, the turns so far
// (each new one answers the whole conversation with the model's chat template, the engine reusing
// its KV cache for what the turns before computed), streamed tokens, Stop (keeps the partial answer),
// Regenerate (replaces the last answer), Edit (an earlier message: the turns after it are dropped),
// sampling settings, per-turn speed and reused tokens, and the saved conversations beside it
// (IndexedDB, each tied to the model it was held with). The model is loaded by
// <tabshard-model-panel>; both talk to the same EngineClient.
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import type { EngineClient } from '../workers/engine-client.ts';
import type { EngineGenerateResult, EngineModelInfo } from '../workers/engine-api.ts';
import type { SamplingOptions } from '../engine/sampler.ts';
import type { ChatMessage } from '../engine/tokenizer/chat.ts';
import { ConversationStore, titleFor, type SavedConversation, type SavedTurn, type TurnStats } from './conversations-store.ts';
import { explain } from './format.ts';
import { panelStyles } from './styles.ts';
import './chat-turn.ts';
import './conversation-list.ts';

/** The conversation the engine answers: the system prompt, then each turn's prompt and answer. */
function messagesOf(system: string, turns: readonly SavedTurn[]): ChatMessage[] {
  const out: ChatMessage[] = system.trim() ? [{ role: 'system', content: system }] : [];
  turns.forEach((t, i) => {
    out.push({ role: 'user', content: t.prompt });
    if (i < turns.length - 1) out.push({ role: 'assistant', content: t.text });
  });
  return out;
}

function statsOf(r: EngineGenerateResult): TurnStats {
  return {
    tokens: r.tokens.length, stoppedBy: r.stoppedBy, prefillTokensPerSecond: r.prefillTokensPerSecond,
    decodeTokensPerSecond: r.decodeTokensPerSecond, reusedTokens: r.reusedTokens, promptTokens: r.promptTokens, format: r.format,
  };
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
    dbName: { attribute: false },
    turns: { state: true },
    system: { state: true },
    busy: { state: true },
    notice: { state: true },
    current: { state: true },
    saved: { state: true },
  };
  declare engine: EngineClient | undefined;
  declare model: EngineModelInfo | undefined;
  /** The app's block-store database name; conversations live in `<dbName>-conversations`. */
  declare dbName: string | undefined;
  declare turns: SavedTurn[];
  declare system: string;
  declare busy: boolean;
  /** A note for the user (turns dropped to fit the context, a conversation started for a new model, storage trouble). */
  declare notice: string | undefined;
  /** The conversation shown (unsaved until its first answer). */
  declare current: SavedConversation | undefined;
  declare saved: SavedConversation[];
  private abort: AbortController | undefined;
  private store: Promise<ConversationStore | undefined> | undefined;

  constructor() {
    super();
    this.turns = [];
    this.system = '';
    this.saved = [];
    this.busy = false;
  }

  static override styles = [
    panelStyles,
    css`
      .layout { display: grid; grid-template-columns: minmax(10rem, 14rem) minmax(0, 1fr); gap: 1rem; align-items: start; }
      @media (max-width: 40rem) { .layout { grid-template-columns: minmax(0, 1fr); } }
      textarea { width: 100%; min-height: 4.5rem; resize: vertical; }
      #system { min-height: 2.5rem; }
      ol.turns { list-style: none; padding: 0; margin: 0.5rem 0 0.75rem; display: grid; gap: 0.75rem; }
      details { margin: 0.5rem 0; }
      summary { cursor: pointer; font-weight: 600; }
    `,
  ];

  override firstUpdated(): void {
    this.store = ConversationStore.open(this.dbName).catch((err: unknown) => {
      this.notice = `Conversations are not saved in this browser: ${explain(err)}`;
      return undefined;
    });
    void this.refresh();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    // A conversation belongs to the model it was held with: another model starts a new one.
    const c = this.current;
    if (changed.has('model') && this.model && c && this.turns.length > 0 && c.model.root !== this.model.root && !this.busy) {
      this.startNew();
      this.notice = `A new conversation with ${this.model.label}; "${c.title}" stays in the list.`;
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort();
  }

  private async refresh(): Promise<void> {
    const store = await this.store;
    if (store) this.saved = await store.list().catch(() => this.saved);
  }

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

  /** Why the shown conversation cannot be continued now, if it cannot. */
  private get heldElsewhere(): string | undefined {
    const c = this.current;
    if (!c || this.turns.length === 0 || c.model.root === this.model?.root) return undefined;
    return `This conversation was held with ${c.model.label}: load that model to continue it.`;
  }

  /** Answer `prompt` as turn `at` (the turns from `at` on are replaced). */
  private async run(prompt: string, at: number): Promise<void> {
    const model = this.model;
    if (!this.engine || !model || this.busy || this.heldElsewhere) return;
    const turn: SavedTurn = { prompt, text: '' };
    this.turns = [...this.turns.slice(0, at), turn];
    this.current ??= ConversationStore.create({ root: model.root, label: model.label }, this.system);
    this.notice = undefined;
    this.busy = true;
    this.abort = new AbortController();
    // Token callbacks travel on their own MessagePort, so the last ones may arrive after the result:
    // once the result is in, it is the whole truth and late events are ignored.
    let finished = false;
    // A new object each time: <tabshard-chat-turn> re-renders when its `turn` changes identity.
    let mine = turn;
    const update = (patch: Partial<SavedTurn>): void => {
      const i = this.turns.indexOf(mine);
      mine = { ...mine, ...patch };
      if (i >= 0) this.turns = [...this.turns.slice(0, i), mine, ...this.turns.slice(i + 1)];
    };
    try {
      const result = await this.engine.generate(
        { messages: messagesOf(this.system, this.turns), maxTokens: this.num('max-tokens') ?? 64, sampling: this.sampling() },
        (e) => {
          if (!finished) update({ text: mine.text + e.text });
        },
        this.abort.signal,
      );
      finished = true;
      update({ text: result.text, stats: statsOf(result) });
      this.dropTurns(result.dropped ?? []);
      this.dispatchEvent(new CustomEvent('generated', { detail: result, bubbles: true, composed: true }));
    } catch (err) {
      update({ error: explain(err) });
    } finally {
      finished = true;
      this.busy = false;
    }
    await this.save();
  }

  /** Keep the shown conversation (its first prompt names it until it is renamed). */
  private async save(): Promise<void> {
    const store = await this.store;
    const c = this.current;
    if (!store || !c || this.turns.length === 0) return;
    const isNew = !this.saved.some((s) => s.id === c.id);
    try {
      this.current = await store.save({ ...c, title: isNew ? titleFor(this.turns[0]!.prompt) : c.title, system: this.system, turns: this.turns });
      await this.refresh();
    } catch (err) {
      this.notice = explain(err);
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
    const area = this.renderRoot.querySelector('#prompt') as HTMLTextAreaElement;
    if (!area.value.trim()) return;
    const prompt = area.value;
    area.value = '';
    void this.run(prompt, this.turns.length);
  }

  private startNew(): void {
    this.current = undefined;
    this.turns = [];
    this.notice = undefined;
  }

  private async open(id: string): Promise<void> {
    const c = await (await this.store)?.get(id).catch(() => undefined);
    if (!c || this.busy) return;
    this.current = c;
    this.turns = c.turns;
    this.system = c.system;
    this.notice = undefined;
  }

  private async rename(id: string, title: string): Promise<void> {
    try {
      await (await this.store)?.rename(id, title);
      if (this.current?.id === id) this.current = { ...this.current, title };
      await this.refresh();
    } catch (err) {
      this.notice = explain(err);
    }
  }

  private async deleteConversation(id: string): Promise<void> {
    try {
      await (await this.store)?.delete(id);
      if (this.current?.id === id) this.startNew();
      await this.refresh();
    } catch (err) {
      this.notice = explain(err);
    }
  }

  private renderTurns() {
    const locked = this.busy || !!this.heldElsewhere || !this.model;
    return html`<ol class="turns" aria-label="Conversation">${this.turns.map((t, i) => {
      const last = i === this.turns.length - 1;
      return html`<li><tabshard-chat-turn .turn=${t} ?last=${last} ?busy=${last && this.busy} ?editable=${!locked}
        @turn-edit=${(e: CustomEvent<{ prompt: string }>) => void this.run(e.detail.prompt, i)}></tabshard-chat-turn></li>`;
    })}</ol>`;
  }

  override render() {
    const elsewhere = this.heldElsewhere;
    const ready = !!this.model && !this.busy && !elsewhere;
    const last = this.turns.at(-1);
    return html`
      <fieldset>
        <legend>Chat</legend>
        <div class="layout">
          <tabshard-conversation-list .conversations=${this.saved} .active=${this.current?.id} ?disabled=${this.busy}
            @conversation-open=${(e: CustomEvent<{ id: string }>) => void this.open(e.detail.id)}
            @conversation-new=${() => this.startNew()}
            @conversation-rename=${(e: CustomEvent<{ id: string; title: string }>) => void this.rename(e.detail.id, e.detail.title)}
            @conversation-delete=${(e: CustomEvent<{ id: string }>) => void this.deleteConversation(e.detail.id)}></tabshard-conversation-list>
          <div>
            ${this.model ? nothing : html`<p class="muted">Load a model to start.</p>`}
            <label for="system">System prompt <span class="muted">(optional)</span></label>
            <textarea id="system" data-testid="system" rows="2" ?disabled=${this.busy} .value=${this.system}
              @input=${(e: InputEvent) => (this.system = (e.target as HTMLTextAreaElement).value)}></textarea>
            ${elsewhere ? html`<p class="muted" role="status" data-testid="held-with">${elsewhere}</p>` : nothing}
            ${this.notice ? html`<p class="muted" role="status" data-testid="context-notice">${this.notice}</p>` : nothing}
            ${this.renderTurns()}
            <label for="prompt">Message <span class="muted">(Ctrl+Enter sends)</span></label>
            <textarea id="prompt" data-testid="prompt" @keydown=${(e: KeyboardEvent) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && ready) this.send();
            }}>Once upon a time</textarea>
            <div class="row">
              <button class="primary" data-testid="generate" ?disabled=${!ready} @click=${() => this.send()}>Send</button>
              <button data-testid="stop" ?disabled=${!this.busy} @click=${() => this.abort?.abort()}>Stop</button>
              <button data-testid="regenerate" ?disabled=${!ready || !last} @click=${() => last && void this.run(last.prompt, this.turns.length - 1)}>Regenerate</button>
            </div>
            <details>
              <summary>Sampling settings</summary>
              <div class="grid">
                <label>Max tokens<input id="max-tokens" type="number" min="1" max="4096" value="60" /></label>
                ${SAMPLING.map(([id, label, min, max, step, value]) => html`<label>${label}<input id=${id} type="number" min=${min} max=${max} step=${step} value=${value} /></label>`)}
              </div>
              <p class="muted">Temperature 0 is greedy decoding: the other settings then have no effect.</p>
            </details>
          </div>
        </div>
      </fieldset>
    `;
  }
}
customElements.define('tabshard-chat-panel', ChatPanel);
