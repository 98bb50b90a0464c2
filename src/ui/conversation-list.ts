// <tabshard-conversation-list>: the saved conversations beside the chat: open one, start a new one,
// rename (inline), delete. A view only: the chat panel owns the store and answers its events
// (conversation-open, conversation-new, conversation-rename, conversation-delete; bubbling, composed).
// Each entry names the model it was held with, so a conversation is not mistaken for another model's.
import { LitElement, css, html, nothing } from 'lit';
import type { SavedConversation } from './conversations-store.ts';
import { panelStyles } from './styles.ts';

export class ConversationList extends LitElement {
  static override properties = {
    conversations: { attribute: false },
    active: { attribute: false },
    disabled: { type: Boolean },
    renaming: { state: true },
  };
  declare conversations: SavedConversation[];
  /** The id of the conversation shown in the chat. */
  declare active: string | undefined;
  /** While an answer is being written, switching conversations would abandon it. */
  declare disabled: boolean;
  declare renaming: string | undefined;

  constructor() {
    super();
    this.conversations = [];
    this.disabled = false;
  }

  static override styles = [
    panelStyles,
    css`
      :host { font-size: 0.95em; }
      ul { list-style: none; margin: 0.5rem 0 0; padding: 0; display: grid; gap: 0.35rem; }
      li { border: 1px solid var(--ts-border); border-radius: 6px; padding: 0.3rem 0.4rem; }
      li[aria-current='true'] { border-color: var(--ts-accent); box-shadow: inset 3px 0 0 var(--ts-accent); }
      button.open { all: unset; cursor: pointer; display: block; width: 100%; box-sizing: border-box; border-radius: 4px; }
      button.open:focus-visible { outline: 3px solid var(--ts-accent); outline-offset: 2px; }
      .title { font-weight: 600; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.3rem; margin-top: 0.2rem; }
      .actions button { padding: 0.1rem 0.5rem; min-height: 1.8rem; font-size: 0.85em; }
      input { width: 100%; }
    `,
  ];

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private finishRename(id: string, input: HTMLInputElement, keep: boolean): void {
    if (this.renaming !== id) return;
    this.renaming = undefined;
    if (keep && input.value.trim()) this.emit('conversation-rename', { id, title: input.value.trim() });
  }

  private renderItem(c: SavedConversation) {
    const when = new Date(c.updated).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
    const title = this.renaming === c.id
      ? html`<input data-testid="conversation-title-input" aria-label="Conversation title" .value=${c.title}
          @keydown=${(e: KeyboardEvent) => {
            if (e.key === 'Enter') this.finishRename(c.id, e.target as HTMLInputElement, true);
            if (e.key === 'Escape') this.finishRename(c.id, e.target as HTMLInputElement, false);
          }}
          @blur=${(e: FocusEvent) => this.finishRename(c.id, e.target as HTMLInputElement, true)} />`
      : html`<button class="open" data-testid="conversation-open" ?disabled=${this.disabled} @click=${() => this.emit('conversation-open', { id: c.id })}>
          <span class="title" data-testid="conversation-title">${c.title}</span><br />
          <span class="muted">${c.model.label} · ${c.turns.length} ${c.turns.length === 1 ? 'turn' : 'turns'} · ${when}</span>
        </button>`;
    return html`<li data-testid="conversation" data-id=${c.id} aria-current=${c.id === this.active ? 'true' : 'false'}>
      ${title}
      <div class="actions">
        <button data-testid="conversation-rename" aria-label=${`Rename ${c.title}`} ?disabled=${this.renaming === c.id} @click=${async () => {
          this.renaming = c.id;
          await this.updateComplete;
          this.renderRoot.querySelector<HTMLInputElement>('[data-testid=conversation-title-input]')?.select();
        }}>Rename</button>
        <button data-testid="conversation-delete" aria-label=${`Delete ${c.title}`} ?disabled=${this.disabled && c.id === this.active}
          @click=${() => this.emit('conversation-delete', { id: c.id })}>Delete</button>
      </div>
    </li>`;
  }

  override render() {
    return html`<nav aria-label="Saved conversations">
      <div class="row">
        <strong>Conversations</strong>
        <button data-testid="new-chat" ?disabled=${this.disabled} @click=${() => this.emit('conversation-new', {})}>New</button>
      </div>
      ${this.conversations.length === 0
        ? html`<p class="muted" data-testid="no-conversations">None saved yet: each answered turn is saved here.</p>`
        : nothing}
      <ul>${this.conversations.map((c) => this.renderItem(c))}</ul>
    </nav>`;
  }
}
customElements.define('tabshard-conversation-list', ConversationList);
