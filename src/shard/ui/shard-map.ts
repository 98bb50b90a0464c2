// <tabshard-shard-map>: who holds which layers, how much memory and how fast each is, the link's
// latency, and the tokens moving through; plus the room's join link as text and QR code. The join
// link carries the room secret in its fragment: it is shown to the user to share, never logged.
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import QRCode from 'qrcode';

/** 'slow': dropped from the plan because its steps became several times slower (plan-links.ts). */
export type PeerState = 'joining' | 'ready' | 'serving' | 'spare' | 'lost' | 'slow' | 'refused';

export interface ShardMapPeer {
  readonly id: string;
  readonly label: string;
  readonly state: PeerState;
  /** Layers held [from, to), if any. */
  readonly range?: readonly [number, number];
  readonly memoryBytes?: number;
  /** Relative speed the planner assumed (1 = reference). */
  readonly speed?: number;
  /** Round trip of the link (pings), ms: what the planner uses. */
  readonly rttMs?: number;
  /** Measured bandwidth of the link, bytes/s (from the activation frames; Infinity: too fast to see). */
  readonly bandwidth?: number;
  /** Measured compute per layer per decoded token on this peer, ms. */
  readonly layerMs?: number;
  /** Activation bytes that crossed its link. */
  readonly bytes?: number;
}

const COLORS = ['#3b82f6', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#14b8a6', '#ec4899'];

function mb(n: number | undefined): string {
  return n === undefined ? '–' : `${(n / 1e6).toFixed(2)} MB`;
}

function rate(bps: number | undefined): string {
  if (bps === undefined) return '–';
  // Frames too small to time against the round trip: the link is faster than we can see.
  if (bps === Infinity) return 'fast';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} MB/s` : `${(bps / 1e3).toFixed(1)} kB/s`;
}

export class ShardMap extends LitElement {
  static override properties = {
    peers: { attribute: false },
    nLayer: { type: Number },
    tokens: { type: Number },
    joinLink: { attribute: false },
    qr: { state: true },
  };
  declare peers: readonly ShardMapPeer[];
  declare nLayer: number;
  declare tokens: number;
  declare joinLink: string | undefined;
  declare qr: string | undefined;

  constructor() {
    super();
    this.peers = [];
    this.nLayer = 0;
    this.tokens = 0;
  }

  static override styles = css`
    :host { display: block; font: 14px system-ui, sans-serif; }
    .layers { display: flex; gap: 2px; margin: 0.5rem 0; }
    .layer { flex: 1; height: 1.6rem; border-radius: 3px; color: white; font-size: 0.75rem; display: grid; place-items: center; background: #9ca3af; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #ddd; }
    .lost, .slow, .refused { color: #b00020; }
    .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; vertical-align: middle; margin-right: 0.3rem; }
    .join { display: flex; gap: 1rem; align-items: center; margin-top: 0.75rem; }
    .join code { word-break: break-all; font-size: 0.75rem; }
  `;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('joinLink')) {
      const link = this.joinLink;
      this.qr = undefined;
      if (link) void QRCode.toDataURL(link, { margin: 1, width: 160 }).then((url) => { if (this.joinLink === link) this.qr = url; });
    }
  }

  private color(id: string): string {
    const i = this.peers.findIndex((p) => p.id === id);
    return COLORS[(i < 0 ? 0 : i) % COLORS.length]!;
  }

  override render() {
    const holder = (l: number): ShardMapPeer | undefined =>
      this.peers.find((p) => p.range && p.state !== 'lost' && p.state !== 'slow' && p.state !== 'spare' && p.range[0] <= l && l < p.range[1]);
    return html`
      <div class="layers" data-testid="layer-bar">
        ${Array.from({ length: this.nLayer }, (_, l) => {
          const h = holder(l);
          return html`<div class="layer" title=${h ? `layer ${l}: ${h.id}` : `layer ${l}: nobody`} style=${h ? `background:${this.color(h.id)}` : ''}>${l}</div>`;
        })}
      </div>
      <p data-testid="tokens">${this.tokens} tokens through the pipeline</p>
      <table data-testid="peers">
        <thead><tr><th>participant</th><th>state</th><th>layers</th><th>memory</th><th>speed</th><th>step/layer</th><th>round trip</th><th>bandwidth</th><th>activations</th></tr></thead>
        <tbody>
          ${this.peers.map((p) => html`
            <tr class=${p.state} data-peer=${p.id}>
              <td><span class="swatch" style="background:${this.color(p.id)}"></span>${p.id} <small>${p.label}</small></td>
              <td>${p.state}</td>
              <td>${p.range ? `${p.range[0]}–${p.range[1] - 1}` : '–'}</td>
              <td>${mb(p.memoryBytes)}</td>
              <td>${p.speed === undefined ? '–' : `${p.speed.toFixed(2)}×`}</td>
              <td class="step">${p.layerMs === undefined ? '–' : `${p.layerMs.toFixed(2)} ms`}</td>
              <td class="rtt">${p.rttMs === undefined ? '–' : `${p.rttMs.toFixed(1)} ms`}</td>
              <td class="bandwidth">${rate(p.bandwidth)}</td>
              <td>${p.bytes === undefined ? '–' : mb(p.bytes)}</td>
            </tr>`)}
        </tbody>
      </table>
      ${this.joinLink ? html`<div class="join">
        ${this.qr ? html`<img alt="QR code of the join link" src=${this.qr} width="160" height="160" data-testid="qr" />` : nothing}
        <div>Invite a tab or device: <code data-testid="join-link">${this.joinLink}</code></div>
      </div>` : nothing}
    `;
  }
}

if (!customElements.get('tabshard-shard-map')) customElements.define('tabshard-shard-map', ShardMap);

declare global {
  interface HTMLElementTagNameMap {
    'tabshard-shard-map': ShardMap;
  }
}
