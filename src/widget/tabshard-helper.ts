// <tabshard-helper>: lends this page's visitor's device to a shard room. A page that embeds tabshard
// (one script tag, widget.js) adds
//   <tabshard-helper room="JOIN-LINK-OR-CODE" memory-mb="200" backend="cpu"></tabshard-helper>
// and the element shows the room's model (name, size, CID), asks how much memory to lend and which
// backend to use (the attributes fill the form in), joins when the visitor presses Join (or at once
// with `autojoin`), loads only the layers the room's coordinator gives it (GGUF header and that
// range's tensors, each block verified; this browser's store first, then the gateways), shows what
// it holds and what passes through it, and leaves with Leave (or leave(), or when removed).
// Why an element of its own rather than <tabshard-chat room=…>: a helper holds a range of layers and
// answers nobody on this page; a chat holds the whole model. Mixing the two would give one element
// two sets of attributes that mean nothing for the other.
// Attributes: room (the Share panel's join link, or its fragment `room=…&secret=…&model=…`),
// gateways (comma-separated base URLs; default the widget's own origin), memory-mb (default: what the
// whole model needs), backend (cpu | webgpu | auto, default auto), label (the name the coordinator's
// shard map shows; default the browser's), autojoin. Events (bubbling, composed): helper-state
// ({state, message, range}) at every change. Transport: tabs of one browser need the same origin
// as the coordinator's app (BroadcastChannel); WebRTC rooms go through the relay the link names.
// Needs IndexedDB (a sandboxed frame without storage cannot lend its device).
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { bytes, explain } from '../ui/format.ts';
import { modelCosts } from '../shard/costs.ts';
import { openModelSlice, type ModelSlice, type SliceBackend, type SliceCounts } from '../shard/model-slice.ts';
import { rangeMemory } from '../shard/planner.ts';
import type { ModelCosts } from '../shard/plan-types.ts';
import type { JoinSession, JoinState } from '../shard/session-join.ts';
import type { ShareInvite } from '../shard/share-link.ts';
import { browserLabel, peerId } from '../shard/ui/room-source.ts';
import { joinAsHelper, layersFitting } from '../shard/ui/helper-join.ts';
import { parseRoomAttribute } from './room-attribute.ts';
import { assetOrigin } from './tabshard-chat.ts';
import { widgetStyles } from './widget-styles.ts';

const MB = 1e6;
const BACKENDS: readonly SliceBackend[] = ['auto', 'cpu', 'webgpu'];

export interface HelperStateDetail {
  state: JoinState | 'idle' | 'reading';
  message: string;
  range: readonly [number, number] | undefined;
}

export class TabshardHelper extends LitElement {
  static override properties = {
    room: { type: String },
    gateways: { type: String },
    memoryMb: { type: Number, attribute: 'memory-mb' },
    backend: { type: String },
    label: { type: String },
    autojoin: { type: Boolean },
    invite: { state: true },
    costs: { state: true },
    counts: { state: true },
    offerMb: { state: true },
    choice: { state: true },
    tick: { state: true },
    error: { state: true },
  };
  declare room: string;
  declare gateways: string | undefined;
  declare memoryMb: number | undefined;
  declare backend: SliceBackend | undefined;
  declare label: string | undefined;
  declare autojoin: boolean;
  declare invite: ShareInvite | undefined;
  declare costs: ModelCosts | undefined;
  declare counts: SliceCounts | undefined;
  /** The form's values (from the attributes until the visitor changes them). */
  declare offerMb: number;
  declare choice: SliceBackend;
  /** Bumped when the join session changes (it is not itself reactive). */
  declare tick: number;
  declare error: string | undefined;
  private slice: Promise<ModelSlice> | undefined;
  private join: JoinSession | undefined;
  private joining = false;

  static override styles = [widgetStyles, css`
    .grid { display: flex; gap: 0.5rem 1rem; flex-wrap: wrap; }
    label { display: grid; gap: 0.15rem; font-size: 0.9em; }
    input, select { font: inherit; color: inherit; background: transparent; border: 1px solid var(--tabshard-border, color-mix(in srgb, CanvasText 30%, Canvas)); border-radius: 6px; padding: 0.25rem 0.4rem; }
    p { margin: 0; }
    code { overflow-wrap: anywhere; font-size: 0.85em; }
  `];

  constructor() {
    super();
    this.room = '';
    this.autojoin = false;
    this.offerMb = 0;
    this.choice = 'auto';
    this.tick = 0;
  }

  /** The join session's state, or where the element is before joining. */
  get state(): HelperStateDetail['state'] {
    if (this.join) return this.join.state;
    return this.costs ? 'idle' : 'reading';
  }

  /** Layers held now, [from, to). */
  get range(): readonly [number, number] | undefined {
    return this.join?.range;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Moved in the page (removed, then added again): the room was left on removal; open it again.
    if (this.hasUpdated && this.room && !this.invite) this.open();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.reset();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('backend') && this.backend && BACKENDS.includes(this.backend)) this.choice = this.backend;
    if (changed.has('memoryMb') && this.memoryMb && this.memoryMb > 0) this.offerMb = this.memoryMb;
    // A new room (or gateways): leave the old one and read the new model's header.
    if ((changed.has('room') || changed.has('gateways')) && this.isConnected) this.open();
  }

  private get gatewayList(): string[] {
    const gw = this.gateways?.split(',').map((g) => g.trim()).filter(Boolean);
    return gw?.length ? gw : [assetOrigin()];
  }

  private reset(): void {
    this.join?.leave();
    this.join = undefined;
    void this.slice?.then((s) => s.close(), () => undefined);
    this.slice = undefined;
    this.invite = undefined;
    this.costs = undefined;
    this.counts = undefined;
    this.error = undefined;
  }

  private open(): void {
    this.reset();
    if (!this.room) return;
    let inv: ShareInvite;
    try {
      inv = parseRoomAttribute(this.room);
    } catch (e) {
      this.error = explain(e);
      return;
    }
    this.invite = inv;
    // The header alone (a few blocks): how big the layers are, to size the memory offer.
    const slice = openModelSlice(inv.model, { gateways: this.gatewayList, onProgress: (c) => (this.counts = { ...c }) });
    this.slice = slice;
    slice.then((s) => {
      if (this.slice !== slice) return;
      this.costs = modelCosts(s.file, { nCtx: inv.nCtx, kvBytesPerElement: 4 });
      if (!(this.memoryMb && this.memoryMb > 0)) this.offerMb = Math.ceil(rangeMemory(this.costs, 0, this.costs.nLayer) / MB * 10) / 10;
      this.emitState();
      if (this.autojoin) void this.start();
    }, (e: unknown) => {
      if (this.slice === slice) this.error = explain(e);
    });
    this.emitState();
  }

  /** Joins the room (after the model's header is read); resolves once the join is under way. */
  async start(): Promise<void> {
    const inv = this.invite;
    if (!inv || !this.slice || this.joining || (this.join && this.join.state !== 'left')) return;
    this.joining = true;
    this.error = undefined;
    try {
      const slice = await this.slice;
      // 'auto' is settled before joining, as the app's join panel does (helper-join.ts).
      this.join = await joinAsHelper({
        invite: inv, slice, self: peerId('w'), memoryBytes: this.offerMb * MB, backend: this.choice,
        label: this.label || `${browserLabel()} (widget)`,
        onChange: () => {
          this.tick++;
          this.emitState();
        },
      });
      this.emitState();
    } catch (e) {
      this.error = explain(e);
    } finally {
      this.joining = false;
    }
  }

  /** Leaves the room (a goodbye: the coordinator re-plans at once); Join may be pressed again. */
  leave(): void {
    this.join?.leave();
    this.tick++;
  }

  private emitState(): void {
    const detail: HelperStateDetail = { state: this.state, message: this.join?.message ?? (this.costs ? 'ready to join' : 'reading the model'), range: this.range };
    this.dispatchEvent(new CustomEvent('helper-state', { detail, bubbles: true, composed: true }));
  }


  private renderJoin(j: JoinSession) {
    const c = this.costs;
    const r = j.range;
    const bad = j.state === 'refused' || j.state === 'error';
    return html`
      <p class=${bad ? 'error' : 'status'} role=${bad ? 'alert' : 'status'} data-testid="helper-status" data-state=${j.state}>${j.message}</p>
      <p data-testid="helper-holds">${r && c ? `Holding layers ${r[0]}–${r[1] - 1} of ${c.nLayer} (${bytes(rangeMemory(c, r[0], r[1]))} with the cache)` : 'Holding no layers yet.'}</p>
      <p class="status" data-testid="helper-through">${j.served} layers calls answered · ${bytes(j.bytes)} of activations through this device</p>`;
  }

  override render() {
    const inv = this.invite;
    const j = this.join;
    const joined = !!j && j.state !== 'left';
    const c = this.counts;
    return html`
      <div class="frame" part="frame" data-testid="helper">
        <div class="head" part="header">
          <span class="name">Lend this device${inv ? html` to <span data-testid="helper-model">${inv.label}</span>` : nothing}</span>
          ${inv ? html`<span class="status">${bytes(inv.size)} · ${inv.transport === 'tabs' ? 'tabs of this browser' : 'WebRTC'}</span>` : nothing}
        </div>
        ${inv ? html`
          <p class="status">CID <code data-testid="helper-cid">${inv.model}</code></p>
          <div class="grid">
            <label>Memory to lend (MB)<input type="number" part="input" data-testid="helper-memory" min="0.1" step="0.1" .value=${String(this.offerMb)} ?disabled=${joined}
              @input=${(e: Event) => (this.offerMb = Number((e.target as HTMLInputElement).value))} /></label>
            <label>Backend<select part="input" data-testid="helper-backend" ?disabled=${joined} @change=${(e: Event) => (this.choice = (e.target as HTMLSelectElement).value as SliceBackend)}>
              ${BACKENDS.map((b) => html`<option value=${b} ?selected=${this.choice === b}>${b}</option>`)}
            </select></label>
          </div>
          ${this.costs ? html`<p class="status" data-testid="helper-fits">Room for up to ${layersFitting(this.costs, this.offerMb * MB)} of ${this.costs.nLayer} layers.</p>` : html`<p class="status">Reading the model's header…</p>`}
          <div class="form">
            ${joined
              ? html`<button type="button" part="button" data-testid="helper-leave" @click=${() => this.leave()}>Leave</button>`
              : html`<button type="button" part="button" data-testid="helper-join" ?disabled=${!this.costs || this.joining || this.offerMb <= 0} @click=${() => void this.start()}>Join</button>`}
          </div>
          ${j ? this.renderJoin(j) : nothing}
          ${c ? html`<p class="status" data-testid="helper-blocks" data-gateway=${c.fromGateways}>Blocks: ${c.fromStore} from this browser's store, ${c.fromGateways} from gateways (${bytes(c.bytesFromGateways)}).</p>` : nothing}
        ` : this.room ? nothing : html`<p class="status">No room given (the room attribute takes a join link).</p>`}
        ${this.error ? html`<p class="error" role="alert" part="error" data-testid="helper-error">${this.error}</p>` : nothing}
      </div>
    `;
  }
}

export function defineTabshardHelper(): void {
  if (!customElements.get('tabshard-helper')) customElements.define('tabshard-helper', TabshardHelper);
}

declare global {
  interface HTMLElementTagNameMap {
    'tabshard-helper': TabshardHelper;
  }
}
