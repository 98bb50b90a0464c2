// <tabshard-join-panel>: the app opened from a join link. It shows the room's model (name, size,
// CID), asks how much memory to lend and which backend to use, then joins: it proves the room
// secret, loads only the layers the coordinator assigns (the GGUF header and that range's tensors,
// by verified range reads: this browser's store first, then room peers over bitswap when the room
// is a libp2p one, then the gateways), and shows what it holds,
// what passes through it and where its blocks came from. Leave says goodbye, so the room re-plans
// at once. `?shardDelay=MS` slows each layers call (failover demos and tests).
import { LitElement, html, nothing } from 'lit';
import { panelStyles } from '../../ui/styles.ts';
import { bytes, explain } from '../../ui/format.ts';
import type { BlockExchangeEvent } from '../block-exchange.ts';
import { modelCosts } from '../costs.ts';
import { openModelSlice, type ModelSlice, type SliceBackend, type SliceCounts } from '../model-slice.ts';
import { rangeMemory } from '../planner.ts';
import type { ModelCosts } from '../plan-types.ts';
import type { JoinSession } from '../session-join.ts';
import { parseShareLink, type ShareInvite } from '../share-link.ts';
import { browserLabel, peerId } from './room-source.ts';
import { joinAsHelper, layersFitting } from './helper-join.ts';

const MB = 1e6;

export class JoinPanel extends LitElement {
  static override properties = {
    dbName: { attribute: false },
    gateways: { attribute: false },
    invite: { state: true },
    costs: { state: true },
    memoryMb: { state: true },
    backend: { state: true },
    counts: { state: true },
    busy: { state: true },
    tick: { state: true },
    error: { state: true },
    banned: { state: true },
  };
  declare dbName: string | undefined;
  declare gateways: string[];
  declare invite: ShareInvite | undefined;
  declare costs: ModelCosts | undefined;
  declare memoryMb: number;
  declare backend: SliceBackend;
  declare counts: SliceCounts | undefined;
  declare busy: boolean;
  /** Bumped when the join session changes (it is not itself reactive). */
  declare tick: number;
  declare error: string | undefined;
  /** Room peers no longer asked for blocks, and why. */
  declare banned: string[];
  private slice: Promise<ModelSlice> | undefined;
  private join: JoinSession | undefined;

  static override styles = [panelStyles];

  constructor() {
    super();
    this.gateways = [];
    this.memoryMb = 0;
    this.backend = 'cpu';
    this.busy = false;
    this.tick = 0;
    this.banned = [];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    try {
      this.invite = parseShareLink(location.hash);
    } catch (e) {
      this.error = explain(e);
      return;
    }
    // The header alone (a few blocks): how big the layers are, to size the memory offer.
    const inv = this.invite;
    this.slice = openModelSlice(inv.model, { dbName: this.dbName, gateways: this.gateways, onProgress: (c) => (this.counts = { ...c }) });
    this.slice.then((s) => {
      this.costs = modelCosts(s.file, { nCtx: inv.nCtx, kvBytesPerElement: 4 });
      this.memoryMb = Math.ceil(rangeMemory(this.costs, 0, this.costs.nLayer) / MB * 10) / 10;
    }, (e: unknown) => (this.error = explain(e)));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.join?.leave();
    void this.slice?.then((s) => s.close(), () => undefined);
  }


  private async start(): Promise<void> {
    const inv = this.invite;
    if (!inv || !this.slice || this.join || this.busy) return;
    this.busy = true;
    this.error = undefined;
    try {
      const slice = await this.slice;
      const delayMs = Number(new URLSearchParams(location.search).get('shardDelay') ?? 0) || undefined;
      this.join = await joinAsHelper({
        invite: inv, slice, self: peerId('h'), memoryBytes: this.memoryMb * MB, backend: this.backend, label: browserLabel(),
        dbName: this.dbName, delayMs, onChange: () => this.tick++, onBlockEvent: (e) => this.onBlockEvent(e),
      });
    } catch (e) {
      this.error = explain(e);
    } finally {
      this.busy = false;
    }
  }

  /** A peer the exchange stopped asking (wrong bytes, or no answers) is shown: it is a fact about the room. */
  private onBlockEvent(e: BlockExchangeEvent): void {
    if (e.type === 'banned') this.banned = [...this.banned, `${e.peer.slice(-8)} (${e.reason === 'integrity' ? 'sent blocks that failed verification' : 'did not answer'})`];
  }

  private leave(): void {
    this.join?.leave();
    this.tick++;
  }

  private renderStatus(j: JoinSession) {
    const c = this.costs;
    const r = j.range;
    const bad = j.state === 'refused' || j.state === 'error';
    return html`
      <p class=${bad ? 'error' : 'muted'} role=${bad ? 'alert' : 'status'} data-testid="join-status" data-state=${j.state}>${j.message}</p>
      <p data-testid="holds">${r && c
        ? html`Holding layers ${r[0]}–${r[1] - 1} of ${c.nLayer} (${bytes(rangeMemory(c, r[0], r[1]))} with the cache)`
        : 'Holding no layers yet.'}</p>
      <p class="muted" data-testid="through">${j.served} layers calls answered · ${bytes(j.bytes)} of activations through this tab</p>`;
  }

  override render() {
    const inv = this.invite;
    const j = this.join;
    const joined = !!j && j.state !== 'left';
    const n = layersFitting(this.costs, this.memoryMb * MB);
    const c = this.counts;
    return html`
      <fieldset data-testid="join">
        <legend>Join a shared model</legend>
        ${inv ? html`
          <p>Room <code>${inv.room.id}</code> shares <strong data-testid="join-model">${inv.label}</strong> (${bytes(inv.size)}),
            CID <code data-testid="join-cid">${inv.model}</code>, over ${inv.transport === 'tabs' ? 'tabs of this browser' : `WebRTC via ${inv.relay}`}.</p>
          <div class="grid">
            <label>Memory to lend (MB)<input type="number" data-testid="join-memory" min="0.1" step="0.1" .value=${String(this.memoryMb)} ?disabled=${joined}
              @input=${(e: Event) => (this.memoryMb = Number((e.target as HTMLInputElement).value))} /></label>
            <label>Backend<select data-testid="join-backend" ?disabled=${joined} @change=${(e: Event) => (this.backend = (e.target as HTMLSelectElement).value as SliceBackend)}>
              ${(['cpu', 'webgpu', 'auto'] as const).map((b) => html`<option value=${b} ?selected=${this.backend === b}>${b}</option>`)}
            </select></label>
          </div>
          ${this.costs ? html`<p class="muted" data-testid="join-fits">Room for up to ${n} of ${this.costs.nLayer} layers.</p>` : html`<p class="muted">Reading the model's header…</p>`}
          <div class="row">
            ${joined
              ? html`<button data-testid="leave" @click=${() => this.leave()}>Leave</button>`
              : html`<button class="primary" data-testid="join-room" ?disabled=${!this.costs || this.busy || this.memoryMb <= 0} @click=${() => void this.start()}>Join</button>`}
          </div>
          ${j ? this.renderStatus(j) : nothing}
          ${this.banned.length ? html`<p class="error" data-testid="join-banned" data-count=${this.banned.length}>No longer asking room peers ${this.banned.join(', ')} for blocks.</p>` : nothing}
          ${c ? html`<p class="muted" data-testid="join-blocks" data-gateway=${c.fromGateways} data-peers=${c.fromPeers}>Blocks: ${c.fromStore} from this browser's store, ${c.fromPeers} from room peers (${bytes(c.bytesFromPeers)}), ${c.fromGateways} from gateways (${bytes(c.bytesFromGateways)}).</p>` : nothing}
        ` : nothing}
        ${this.error ? html`<p class="error" role="alert" data-testid="join-error">${this.error}</p>` : nothing}
      </fieldset>
    `;
  }
}
if (!customElements.get('tabshard-join-panel')) customElements.define('tabshard-join-panel', JoinPanel);

declare global {
  interface HTMLElementTagNameMap {
    'tabshard-join-panel': JoinPanel;
  }
}
