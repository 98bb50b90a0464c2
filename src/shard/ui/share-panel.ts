// <tabshard-share-panel>: share the loaded model with other tabs or devices. Start a room (tabs of
// this browser, or other devices through the relay), hand out the join link (text, QR code, or a
// helper tab opened here), watch the shard map, and end the room. While the room is open the chat
// is answered across it (EngineClient.generateVia); this tab keeps the embedding and the head and
// the token history, so a helper that leaves is re-planned and the answer goes on.
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { createCpuBackend } from '../../engine/cpu/index.ts';
import type { Backend } from '../../engine/backend.ts';
import { tokenizerFromGguf } from '../../engine/tokenizer/index.ts';
import type { EngineClient } from '../../workers/engine-client.ts';
import type { EngineModelInfo } from '../../workers/engine-api.ts';
import { panelStyles } from '../../ui/styles.ts';
import { explain } from '../../ui/format.ts';
import { modelCosts } from '../costs.ts';
import { openModelSlice, type ModelSlice } from '../model-slice.ts';
import { createRoom } from '../room.ts';
import { ShareSession, type SessionEvent } from '../session.ts';
import { sessionGenerate } from '../session-chat.ts';
import { shareLink, type ShareTransport } from '../share-link.ts';
import type { ShardMapPeer } from './shard-map.ts';
import { openRoomSource, peerId } from './room-source.ts';
import './shard-map.ts';

/** The relay `./dev start` runs, as it writes it next to the app (share.json); `?relay=` overrides. */
async function defaultRelay(): Promise<string> {
  const q = new URLSearchParams(location.search).get('relay');
  if (q) return q;
  try {
    const res = await fetch(new URL('share.json', document.baseURI));
    if (res.ok) return String(((await res.json()) as { relay?: string }).relay ?? '');
  } catch {
    // no share.json: the user types the relay's address
  }
  return '';
}

interface Open {
  session: ShareSession;
  slice: ModelSlice;
  local: Backend;
  root: string;
}

export class SharePanel extends LitElement {
  static override properties = {
    engine: { attribute: false },
    model: { attribute: false },
    dbName: { attribute: false },
    gateways: { attribute: false },
    transport: { state: true },
    relay: { state: true },
    split: { state: true },
    busy: { state: true },
    joinLink: { state: true },
    peers: { state: true },
    tokens: { state: true },
    log: { state: true },
    error: { state: true },
  };
  declare engine: EngineClient | undefined;
  declare model: EngineModelInfo | undefined;
  declare dbName: string | undefined;
  declare gateways: string[];
  declare transport: ShareTransport;
  declare relay: string;
  declare split: 'fewest' | 'spread';
  declare busy: boolean;
  declare joinLink: string | undefined;
  declare peers: ShardMapPeer[];
  declare tokens: number;
  declare log: string[];
  declare error: string | undefined;
  private open: Open | undefined;

  static override styles = [panelStyles, css`
    ol.log { margin: 0.5rem 0 0; padding-left: 1.2rem; font-size: 0.85em; max-height: 10rem; overflow-y: auto; }
  `];

  constructor() {
    super();
    this.gateways = [];
    this.transport = 'tabs';
    this.relay = '';
    this.split = 'spread';
    this.busy = false;
    this.peers = [];
    this.tokens = 0;
    this.log = [];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void defaultRelay().then((r) => { if (!this.relay) this.relay = r; });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.end();
  }

  protected override updated(changed: PropertyValues<this>): void {
    // Another model loaded: the room shared the old one, whose helpers hold its layers.
    if (changed.has('model') && this.open && this.model?.root !== this.open.root) this.end();
  }

  private async start(): Promise<void> {
    const model = this.model;
    const engine = this.engine;
    if (!model || !engine || this.open || this.busy) return;
    this.busy = true;
    this.error = undefined;
    this.log = [];
    let slice: ModelSlice | undefined;
    let local: Backend | undefined;
    try {
      if (this.transport === 'webrtc' && !this.relay) throw new Error('other devices meet through a relay: give its address (tabshard relay prints it)');
      const nCtx = model.config.nCtx;
      // The blocks are in this browser's store already (the model was loaded): reads are local.
      slice = await openModelSlice(model.root, { dbName: this.dbName, gateways: this.gateways });
      local = await createCpuBackend(slice.file, slice.source, { layers: [0, 0], embed: true, head: true, nCtx, kv: { mode: 'f32' } });
      const room = createRoom();
      const self = peerId('c');
      const relay = this.transport === 'webrtc' ? this.relay : undefined;
      // Over a libp2p room, bitswap serves this browser's blocks (the whole model) to the participants.
      const { source } = await openRoomSource(this.transport, relay, room.id, self, 'coordinator', { blocks: slice.store });
      const session = new ShareSession({
        self, source, room, local, model: model.root,
        costs: modelCosts(slice.file, { nCtx, kvBytesPerElement: 4 }),
        onEvent: (e) => this.onSession(e),
      });
      this.open = { session, slice, local, root: model.root };
      this.joinLink = shareLink(location.href, { room, model: model.root, label: model.label, size: slice.source.size, nCtx, transport: this.transport, relay });
      engine.generateVia = sessionGenerate(session, tokenizerFromGguf(slice.file), () => ({ split: this.split }));
      this.log = [`room ${room.id} open (${this.transport === 'tabs' ? 'tabs of this browser' : `other devices via ${relay}`})`];
    } catch (e) {
      local?.dispose();
      slice?.close();
      this.error = explain(e);
    } finally {
      this.busy = false;
    }
  }

  private onSession(e: SessionEvent): void {
    const s = this.open?.session;
    if (!s) return;
    if (e.type === 'peers') {
      this.peers = s.peers();
      this.tokens = s.tokens;
    } else if (e.type === 'log') {
      this.log = [...this.log.slice(-49), e.text];
    }
  }

  /** Ends the room: helpers are told goodbye; the chat goes back to this device alone. */
  end(): void {
    const o = this.open;
    if (!o) return;
    this.open = undefined;
    if (this.engine) this.engine.generateVia = undefined;
    o.session.end();
    o.local.dispose();
    o.slice.close();
    this.joinLink = undefined;
    this.peers = [];
    this.log = [...this.log, 'room ended: the chat runs on this device again'];
  }

  private openHelper(): void {
    if (this.joinLink) window.open(this.joinLink, '_blank', 'noopener');
  }

  override render() {
    const open = !!this.open;
    const ready = !!this.model && !!this.engine && !this.busy;
    return html`
      <fieldset data-testid="share">
        <legend>Share</legend>
        ${this.model ? nothing : html`<p class="muted">Load a model to share it with other tabs or devices.</p>`}
        <p class="muted">Helpers hold ranges of the model's layers; this tab keeps the conversation, the embedding and the head.</p>
        <div class="row" role="radiogroup" aria-label="Helpers are">
          <label><input type="radio" name="transport" data-testid="transport-tabs" .checked=${this.transport === 'tabs'} ?disabled=${open}
            @change=${() => (this.transport = 'tabs')} /> tabs of this browser</label>
          <label><input type="radio" name="transport" data-testid="transport-webrtc" .checked=${this.transport === 'webrtc'} ?disabled=${open}
            @change=${() => (this.transport = 'webrtc')} /> other devices (WebRTC)</label>
        </div>
        ${this.transport === 'webrtc' ? html`<label>Relay <input data-testid="relay" size="40" .value=${this.relay} ?disabled=${open}
          @input=${(e: Event) => (this.relay = (e.target as HTMLInputElement).value)} placeholder="ws://192.168.1.10:4180" /></label>` : nothing}
        <label>Split <select data-testid="split" @change=${(e: Event) => (this.split = (e.target as HTMLSelectElement).value as 'fewest' | 'spread')}>
          <option value="spread" ?selected=${this.split === 'spread'}>across every helper</option>
          <option value="fewest" ?selected=${this.split === 'fewest'}>fewest helpers (fastest)</option>
        </select></label>
        <div class="row">
          ${open
            ? html`<button data-testid="open-helper" @click=${() => this.openHelper()}>Open a helper tab</button>
                <button data-testid="end-room" @click=${() => this.end()}>End room</button>`
            : html`<button class="primary" data-testid="start-room" ?disabled=${!ready} @click=${() => void this.start()}>Share this model</button>`}
        </div>
        ${this.error ? html`<p class="error" role="alert" data-testid="share-error">${this.error}</p>` : nothing}
        ${open ? html`<tabshard-shard-map .peers=${this.peers} .nLayer=${this.model?.config.nLayer ?? 0} .tokens=${this.tokens} .joinLink=${this.joinLink}></tabshard-shard-map>` : nothing}
        ${this.log.length ? html`<ol class="log" data-testid="room-log" aria-label="Room events">${this.log.map((l) => html`<li>${l}</li>`)}</ol>` : nothing}
      </fieldset>
    `;
  }
}
if (!customElements.get('tabshard-share-panel')) customElements.define('tabshard-share-panel', SharePanel);

declare global {
  interface HTMLElementTagNameMap {
    'tabshard-share-panel': SharePanel;
  }
}
