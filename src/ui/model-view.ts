// Pieces of the model panel that only render: a registry entry's facts and the memory the loaded
// model takes, by category (weights, KV cache, scratch), as a bar and in numbers.
import { css, html, nothing } from 'lit';
import type { RegistryEntry } from '../store/registry.ts';
import type { EngineModelInfo } from '../workers/engine-api.ts';
import { bytes } from './format.ts';

export const modelStyles = css`
  .picker { display: grid; gap: 0.35rem; margin-bottom: 0.75rem; }
  .picker select, .picker input:not([type=file]) { width: 100%; }
  dl.entry { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.75rem; margin: 0.25rem 0 0.5rem; font-size: 0.9em; }
  dl.entry dt { color: var(--ts-muted); }
  dl.entry dd { margin: 0; overflow-wrap: anywhere; }
  .chip { display: inline-block; padding: 0 0.45rem; margin-right: 0.25rem; border: 1px solid var(--ts-border); border-radius: 999px; font-size: 0.85em; }
  .drop { border: 2px dashed var(--ts-border); border-radius: 8px; padding: 0.6rem; display: grid; gap: 0.35rem; }
  .drop.over { border-color: var(--ts-accent); }
  .settings { margin: 0.5rem 0; }
  .actions { margin: 0.5rem 0; }
  .mem { display: flex; height: 0.9rem; border-radius: 4px; overflow: hidden; border: 1px solid var(--ts-border); margin: 0.25rem 0; }
  .mem span { display: block; height: 100%; }
  .mem .weights, .key .weights { background: #1a73e8; }
  .mem .kv, .key .kv { background: #e37400; }
  .mem .scratch, .key .scratch { background: #12a4af; }
  .key { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 0.2em; vertical-align: -0.05em; }
`;

function params(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} K` : String(n);
}

export function renderEntry(e: RegistryEntry) {
  const types = e.gguf ? Object.entries(e.gguf.tensorTypes).map(([t, n]) => `${t} ×${n}`) : [];
  return html`<dl class="entry" data-testid="entry">
    <dt>Name</dt><dd>${e.name}</dd>
    <dt>Version</dt><dd>${e.version}</dd>
    <dt>Size</dt><dd>${bytes(e.size)}</dd>
    ${e.gguf
      ? html`<dt>Model</dt><dd>${e.gguf.architecture ?? '?'}${e.gguf.modelName ? ` · ${e.gguf.modelName}` : ''} · ${params(e.gguf.parameterCount)} parameters${e.gguf.contextLength ? ` · context ${e.gguf.contextLength}` : ''}</dd>
          <dt>Weights</dt><dd>${types.join(', ')}</dd>`
      : nothing}
    <dt>Tags</dt><dd>${e.tags.length ? e.tags.map((t) => html`<span class="chip">${t}</span>`) : '—'}</dd>
    <dt>CID</dt><dd><code>${e.cid}</code></dd>
  </dl>`;
}

export function renderMemory(m: EngineModelInfo) {
  const parts = [['weights', m.memory.weights], ['kv', m.memory.kv], ['scratch', m.memory.scratch]] as const;
  const total = parts.reduce((a, [, v]) => a + v, 0) || 1;
  const names: Record<string, string> = { weights: 'weights', kv: 'KV cache', scratch: 'scratch' };
  return html`<div data-testid="memory">
    <span class="muted">${m.backend === 'webgpu' ? 'GPU memory' : 'Memory'}: ${bytes(total)}</span>
    <div class="mem" role="img" aria-label=${parts.map(([k, v]) => `${names[k]} ${bytes(v)}`).join(', ')}>
      ${parts.map(([k, v]) => html`<span class=${k} style="width:${(100 * v) / total}%"></span>`)}
    </div>
    <span class="muted">${parts.map(([k, v]) => html`<span class="key ${k}"></span>${names[k]} ${bytes(v)} &nbsp;`)}</span>
  </div>`;
}
