// <tabshard-caps>: the capability report, in words a user understands.
import { LitElement, css, html, nothing } from 'lit';
import type { CapabilityReport } from '../gpu/capabilities.ts';

const LIMIT_LABELS: Record<string, string> = {
  maxStorageBufferBindingSize: 'Largest tensor binding',
  maxBufferSize: 'Largest buffer',
  maxComputeWorkgroupStorageSize: 'Workgroup memory',
  maxComputeInvocationsPerWorkgroup: 'Threads per workgroup',
};

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 1 : 0)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

export class CapsPanel extends LitElement {
  static override properties = { report: { attribute: false } };
  declare report: CapabilityReport | undefined;

  static override styles = css`
    :host { display: block; }
    .status { padding: 0.75rem 1rem; border-radius: 8px; border: 1px solid; }
    .ok { border-color: #2e7d32; background: color-mix(in srgb, #2e7d32 12%, transparent); }
    .cpu { border-color: #b26a00; background: color-mix(in srgb, #b26a00 12%, transparent); }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
    dt { font-weight: 600; }
    ul.features { display: flex; flex-wrap: wrap; gap: 0.4rem; list-style: none; padding: 0; }
    ul.features li { padding: 0.1rem 0.5rem; border-radius: 999px; border: 1px solid currentColor; font-size: 0.85em; }
    li.wanted { font-weight: 700; }
  `;

  override render() {
    const r = this.report;
    if (!r) return html`<p role="status">Checking this browser for WebGPU…</p>`;
    const wanted = new Set(['shader-f16', 'subgroups', 'timestamp-query']);
    return html`
      <div class="status ${r.webgpu ? 'ok' : 'cpu'}" role="status" data-testid="caps-status" data-backend=${r.backend}>
        <strong>${r.webgpu ? 'WebGPU: yes' : 'WebGPU: no'}</strong> — ${r.message}
        ${r.webgpu ? nothing : html`<p data-testid="cpu-path">Backend in use: <strong>CPU</strong>.</p>`}
      </div>
      ${r.adapter
        ? html`<h3>Adapter</h3>
            <dl data-testid="adapter">
              <dt>Vendor</dt><dd>${r.adapter.vendor || '—'}</dd>
              <dt>Architecture</dt><dd>${r.adapter.architecture || '—'}</dd>
              <dt>Device</dt><dd>${r.adapter.device || r.adapter.description || '—'}</dd>
              <dt>Software fallback</dt><dd>${r.adapter.isFallbackAdapter ? 'yes (CPU-emulated GPU)' : 'no'}</dd>
            </dl>`
        : nothing}
      ${r.webgpu
        ? html`<h3>Features</h3>
            <ul class="features" data-testid="features">
              ${r.features.map((f) => html`<li class=${wanted.has(f) ? 'wanted' : ''}>${f}</li>`)}
            </ul>
            <h3>Limits</h3>
            <dl data-testid="limits">
              ${Object.entries(r.limits).map(
                ([k, v]) => html`<dt title=${k}>${LIMIT_LABELS[k] ?? k}</dt><dd>${/Size$/.test(k) ? bytes(v as number) : v}</dd>`,
              )}
            </dl>`
        : nothing}
    `;
  }
}
customElements.define('tabshard-caps', CapsPanel);
