// <tabshard-chat-turn>: one turn of the conversation: the user's message (with Edit: change it and
// answer again from there, the turns after it forgotten), the answer as text (code blocks monospace,
// never HTML) with Copy, and what the answer cost (speed, tokens reused from the KV cache). The last
// turn's answer is the ARIA live region the streamed tokens land in.
import { LitElement, css, html, nothing } from 'lit';
import { renderAnswer } from './answer-text.ts';
import type { SavedTurn, TurnStats } from './conversations-store.ts';
import { panelStyles } from './styles.ts';

/** Copy text; falls back to a selected textarea where the async Clipboard API is absent or refused. */
export async function copyText(text: string, host: ShadowRoot | HTMLElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    host.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function statsLine(s: TurnStats): string {
  return `${s.tokens} tokens (${s.stoppedBy}) · prefill ${s.prefillTokensPerSecond.toFixed(1)} tok/s · decode ${s.decodeTokensPerSecond.toFixed(1)} tok/s`
    + ` · ${s.reusedTokens} of ${s.promptTokens} prompt tokens reused${s.format && s.format !== 'template' ? ` · ${s.format} format` : ''}`;
}

export class ChatTurn extends LitElement {
  static override properties = {
    turn: { attribute: false },
    last: { type: Boolean },
    busy: { type: Boolean },
    editable: { type: Boolean },
    editing: { state: true },
    copied: { state: true },
  };
  declare turn: SavedTurn;
  declare last: boolean;
  /** This turn's answer is being written. */
  declare busy: boolean;
  /** Edit is offered (not while any answer is being written). */
  declare editable: boolean;
  declare editing: boolean;
  declare copied: string | undefined;

  constructor() {
    super();
    this.last = false;
    this.busy = false;
    this.editable = false;
    this.editing = false;
  }

  static override styles = [
    panelStyles,
    css`
      .prompt { font-weight: 600; white-space: pre-wrap; overflow-wrap: anywhere; }
      .who { display: flex; gap: 0.5rem; align-items: start; justify-content: space-between; margin-bottom: 0.25rem; }
      .tools button { padding: 0.1rem 0.55rem; min-height: 1.8rem; font-size: 0.85em; }
      .answer { white-space: pre-wrap; border: 1px solid var(--ts-border); border-radius: 8px; padding: 0.6rem 0.75rem; min-height: 1.5rem; overflow-wrap: anywhere; }
      pre.code { font-family: ui-monospace, monospace; white-space: pre; overflow-x: auto; margin: 0.4rem 0; padding: 0.4rem 0.5rem; border-radius: 6px; background: color-mix(in srgb, CanvasText 7%, Canvas); }
      textarea { width: 100%; min-height: 3rem; resize: vertical; }
      p.muted { margin: 0.25rem 0 0; }
    `,
  ];

  private async copy(): Promise<void> {
    this.copied = (await copyText(this.turn.text, this.renderRoot as ShadowRoot)) ? 'Copied' : 'Copy failed';
    setTimeout(() => (this.copied = undefined), 2000);
  }

  private saveEdit(): void {
    const text = this.renderRoot.querySelector<HTMLTextAreaElement>('[data-testid=edit-text]')?.value ?? '';
    if (!text.trim()) return;
    this.editing = false;
    this.dispatchEvent(new CustomEvent('turn-edit', { detail: { prompt: text }, bubbles: true, composed: true }));
  }

  private renderPrompt() {
    if (this.editing) {
      return html`<div>
        <label class="sr-only" for="edit">Edit your message</label>
        <textarea id="edit" data-testid="edit-text" .value=${this.turn.prompt}></textarea>
        <div class="row tools">
          <button class="primary" data-testid="edit-save" @click=${() => this.saveEdit()}>Save and answer</button>
          <button data-testid="edit-cancel" @click=${() => (this.editing = false)}>Cancel</button>
        </div>
        <p class="muted">The turns after this one are removed.</p>
      </div>`;
    }
    return html`<div class="who">
      <div class="prompt" data-testid="user-message">${this.turn.prompt}</div>
      <span class="tools">${this.editable ? html`<button data-testid="edit" aria-label="Edit this message" @click=${() => (this.editing = true)}>Edit</button>` : nothing}</span>
    </div>`;
  }

  override render() {
    const t = this.turn;
    const last = this.last;
    return html`
      ${this.renderPrompt()}
      <div class="answer" data-testid=${last ? 'output' : 'turn'} role=${last ? 'log' : nothing} aria-live=${last ? 'polite' : 'off'} aria-busy=${this.busy}>${renderAnswer(t.text)}</div>
      <div class="row tools">
        ${t.stats ? html`<p class="muted" data-testid=${last ? 'stats' : 'turn-stats'}>${statsLine(t.stats)}</p>` : nothing}
        ${t.text && !this.busy
          ? html`<button data-testid="copy" aria-label="Copy this answer" @click=${() => void this.copy()}>${this.copied ?? 'Copy'}</button>`
          : nothing}
      </div>
      ${t.error ? html`<p class="error" role="alert" data-testid="error">${t.error}</p>` : nothing}
    `;
  }
}
customElements.define('tabshard-chat-turn', ChatTurn);
