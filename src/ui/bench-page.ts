// <tabshard-bench>: the benchmark page. Runs the chosen suites (bench-run.ts), draws the results
// (bench-charts.ts), exports them as JSON and compares them with a saved run (pasted or loaded).
// ?auto runs at once; ?quick uses small shapes; ?suites=kernels,quant,graphs,engine,kv picks suites; the
// result is also left on window.__benchResult for drivers (scripts/matrix.ts).
import { LitElement, css, html, nothing } from 'lit';
import { EngineClient } from '../workers/engine-client.ts';
import { barChart, lineChart, type Bar, type Series } from './bench-charts.ts';
import { SUITES, failure, isFailure, runBench, type BenchReport, type Suite } from './bench-run.ts';
import { panelStyles } from './styles.ts';

const params = new URLSearchParams(location.search);

function figures(r: BenchReport | undefined): Map<string, number> {
  const m = new Map<string, number>();
  if (!r) return m;
  if (r.kernels && !isFailure(r.kernels)) {
    m.set('copy', r.kernels.copy.bytesPerSecond / 1e9);
    for (const x of r.kernels.matvec) m.set(`f32 ${x.rows}×${x.cols}${x.subgroups ? ' sg' : ''}`, x.weightBytesPerSecond / 1e9);
  }
  if (r.quant && !isFailure(r.quant)) for (const x of r.quant.matvec) m.set(`${x.type} ${x.rows}×${x.cols}`, x.weightBytesPerSecond / 1e9);
  if (r.graphs && !isFailure(r.graphs)) for (const x of r.graphs.rows) m.set(`graph ${x.type} ${x.graph}`, x.decodeTps);
  for (const e of r.engine?.runs ?? []) {
    if (e.ok) {
      m.set(`${e.backend} prefill`, e.prefillTps ?? 0);
      m.set(`${e.backend} decode`, e.decodeTps ?? 0);
    }
  }
  return m;
}

function adapterName(a: unknown): string {
  const x = (a ?? {}) as { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  const name = [x.vendor, x.architecture, x.device || x.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return x.isFallbackAdapter ? `${name} (CPU-emulated)` : name;
}

export class BenchPage extends LitElement {
  static override properties = { report: { state: true }, baseline: { state: true }, running: { state: true }, log: { state: true }, error: { state: true } };
  declare report: BenchReport | undefined;
  declare baseline: BenchReport | undefined;
  declare running: boolean;
  declare log: string[];
  declare error: string | undefined;
  private engine: EngineClient | undefined;

  static override styles = [
    panelStyles,
    css`
      :host { max-width: 60rem; margin: 0 auto; padding: 1rem; line-height: 1.45; }
      figure { margin: 0.5rem 0 1rem; }
      figcaption { font-weight: 600; }
      svg .lbl, svg .val { font: 12px system-ui, sans-serif; fill: currentColor; }
      svg .bar { fill: #1a73e8; }
      svg .base { fill: #9aa0a6; }
      svg .axis { stroke: currentColor; stroke-opacity: 0.5; }
      pre.log { max-height: 12rem; overflow: auto; font-size: 0.85em; background: color-mix(in srgb, CanvasText 6%, Canvas); padding: 0.5rem; }
      textarea { width: 100%; min-height: 5rem; font-family: monospace; }
    `,
  ];

  constructor() {
    super();
    this.running = false;
    this.log = [];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (params.has('auto')) void this.run();
  }

  private chosen(): Suite[] {
    const fromUrl = params.get('suites')?.split(',').filter((s): s is Suite => (SUITES as string[]).includes(s));
    const boxes = [...this.renderRoot.querySelectorAll<HTMLInputElement>('input[name=suite]')];
    return boxes.length ? boxes.filter((b) => b.checked).map((b) => b.value as Suite) : fromUrl ?? SUITES;
  }

  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.error = undefined;
    this.log = [];
    try {
      await this.updateComplete;
      const registry = await fetch(new URL('registry.json', document.baseURI)).then((r) => (r.ok ? r.text() : undefined)).catch(() => undefined);
      this.engine ??= new EngineClient();
      await this.engine.configure({ registryJson: registry, dbName: params.get('db') ?? undefined });
      const quick = params.has('quick') || (this.renderRoot.querySelector<HTMLInputElement>('#quick')?.checked ?? false);
      this.report = await runBench({
        suites: this.chosen(), quick, engine: this.engine, model: params.get('model') ?? 'stories260k@1',
        gateways: params.get('gateways')?.split(',') ?? [location.origin], log: (l) => (this.log = [...this.log, l]),
      });
    } catch (err) {
      const f = failure(err);
      this.error = `${f.name}: ${f.message}`;
    } finally {
      this.running = false;
      (window as unknown as { __benchResult?: unknown }).__benchResult = this.report ?? { error: this.error };
    }
  }

  private exportHref(): string {
    return URL.createObjectURL(new Blob([JSON.stringify(this.report, null, 2)], { type: 'application/json' }));
  }

  private setBaseline(text: string): void {
    try {
      const r = JSON.parse(text) as BenchReport;
      if (r.schema !== 'tabshard-bench/1') throw new Error('not a tabshard-bench/1 result');
      this.baseline = r;
      this.error = undefined;
    } catch (err) {
      this.error = `Could not read the saved run: ${(err as Error).message}`;
    }
  }

  private renderCharts() {
    const r = this.report;
    if (!r) return nothing;
    const base = figures(this.baseline);
    const bars = (keys: string[]): Bar[] => keys.map((k) => ({ label: k, value: figures(r).get(k)!, base: base.get(k) }));
    const all = [...figures(r).keys()];
    const kv: Series[] = [];
    for (const p of r.kv?.points ?? []) {
      if (p.kvBytes === undefined) continue;
      let s = kv.find((x) => x.name === p.mode);
      if (!s) kv.push((s = { name: p.mode, points: [] }));
      s.points.push([p.nCtx, p.kvBytes / 1024]);
    }
    const failures = [
      ...(['kernels', 'quant', 'graphs'] as const).filter((k) => isFailure(r[k])).map((k) => `${k}: ${(r[k] as { error: { message: string } }).error.message}`),
      ...(r.engine?.runs ?? []).filter((e) => !e.ok).map((e) => `engine ${e.backend}: ${e.error?.name}: ${e.error?.message}`),
      ...(r.kv?.points ?? []).filter((p) => p.error).map((p) => `kv ${p.mode} @${p.nCtx}: ${p.error?.message}`),
    ];
    return html`
      <section class="card" data-testid="bench-results">
        <h2>Results</h2>
        <p class="muted">${r.webgpu ? `WebGPU: ${adapterName(r.adapter)}` : 'No WebGPU: CPU backend only'} · ${r.quick ? 'quick' : 'full'} run · ${r.date}
          ${this.baseline ? html`<br />Grey bars: saved run of ${this.baseline.date}` : nothing}</p>
        ${barChart('Kernel bandwidth', 'GB/s', bars(all.filter((k) => k === 'copy' || k.startsWith('f32'))))}
        ${barChart('Quantized matvec bandwidth', 'GB/s of weights', bars(all.filter((k) => /^(F16|Q\d)/.test(k))))}
        ${barChart(`Decode graphs${r.graphs && !isFailure(r.graphs) ? ` on ${r.graphs.model}` : ''}`, 'decode tokens/s', bars(all.filter((k) => k.startsWith('graph '))))}
        ${barChart('Engine speed on the demo model', 'tokens/s', bars(all.filter((k) => /prefill|decode/.test(k) && !k.startsWith('graph '))))}
        ${lineChart(`KV cache memory against context (${r.kv?.backend ?? ''})`, 'context length (tokens)', 'KiB', kv)}
        ${failures.length ? html`<h3>Failures</h3><ul class="error" data-testid="bench-failures">${failures.map((f) => html`<li>${f}</li>`)}</ul>` : nothing}
        <a href=${this.exportHref()} download="tabshard-bench.json" data-testid="export">Export JSON</a>
      </section>`;
  }

  override render() {
    return html`
      <h1>tabshard benchmarks</h1>
      <p>Speeds here are ratios measured side by side in one run on this browser's adapter (a CPU-emulated GPU reads as such).</p>
      <fieldset>
        <legend>Run</legend>
        <div class="row">
          ${SUITES.map((s) => html`<label><input type="checkbox" name="suite" value=${s} ?checked=${(params.get('suites')?.split(',') ?? SUITES).includes(s)} /> ${s}</label>`)}
          <label><input type="checkbox" id="quick" ?checked=${params.has('quick')} /> quick</label>
          <button class="primary" data-testid="run" ?disabled=${this.running} @click=${() => this.run()}>${this.running ? 'Running…' : 'Run'}</button>
        </div>
        <pre class="log" role="log" aria-live="polite" data-testid="bench-log">${this.log.join('\n')}</pre>
      </fieldset>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.renderCharts()}
      <fieldset>
        <legend>Compare with a saved run</legend>
        <label for="saved">Paste a result JSON</label>
        <textarea id="saved" data-testid="saved"></textarea>
        <div class="row">
          <button @click=${() => this.setBaseline((this.renderRoot.querySelector('#saved') as HTMLTextAreaElement).value)}>Compare</button>
          <label>…or load a file <input type="file" accept=".json,application/json" @change=${async (e: Event) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) this.setBaseline(await f.text());
          }} /></label>
        </div>
      </fieldset>
    `;
  }
}
customElements.define('tabshard-bench', BenchPage);
