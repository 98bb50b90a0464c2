// The matrix's cells from each engine's raw results (kernel-check page + bench page), and its HTML.
// A cell is engine × feature (× kernel): pass / fail / n/a (capability absent), with a figure.
import type { BenchReport } from '../src/ui/bench-run.ts';

export interface EngineRun {
  engine: string;
  version: string;
  checks: unknown;
  bench: unknown;
  errors: string[];
}

export interface Cell {
  engine: string;
  feature: string;
  kernel?: string;
  status: 'pass' | 'fail' | 'n/a';
  figure?: string;
  detail?: string;
}

interface Check {
  kernel: string;
  variant: string;
  ok: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}% of copy`;

function benchCells(engine: string, b: BenchReport, refText: string): Cell[] {
  const out: Cell[] = [];
  out.push({ engine, feature: 'webgpu', status: b.webgpu ? 'pass' : 'n/a', detail: b.webgpu ? undefined : 'navigator.gpu absent: CPU backend' });
  for (const f of ['shader-f16', 'subgroups', 'timestamp-query']) out.push({ engine, feature: f, status: b.features.includes(f) ? 'pass' : 'n/a' });
  if (b.kernels) {
    if ('error' in b.kernels) out.push({ engine, feature: 'kernel-bench', status: 'fail', detail: b.kernels.error.message });
    else {
      out.push({ engine, feature: 'kernel-bench', kernel: 'copy', status: 'pass', figure: `${(b.kernels.copy.bytesPerSecond / 1e9).toFixed(2)} GB/s` });
      for (const m of b.kernels.matvec) {
        out.push({ engine, feature: 'kernel-bench', kernel: `matvec f32 ${m.rows}x${m.cols}${m.subgroups ? ' subgroups' : ''}`, status: 'pass', figure: pct(m.fractionOfCopy) });
      }
    }
  } else if (!b.webgpu) out.push({ engine, feature: 'kernel-bench', status: 'n/a' });
  if (b.quant) {
    if ('error' in b.quant) out.push({ engine, feature: 'quant-bench', status: 'fail', detail: b.quant.error.message });
    else for (const q of b.quant.matvec) out.push({ engine, feature: 'quant-bench', kernel: `${q.type} ${q.rows}x${q.cols}`, status: 'pass', figure: `${pct(q.fractionOfCopy)}, ${q.timeVsF16.toFixed(2)}x F16 time` });
  } else if (!b.webgpu) out.push({ engine, feature: 'quant-bench', status: 'n/a' });
  for (const backend of ['webgpu', 'cpu'] as const) {
    const r = b.engine?.runs.find((x) => x.backend === backend);
    if (!r) {
      out.push({ engine, feature: `engine-${backend}`, status: 'n/a' });
      continue;
    }
    const same = r.text === refText;
    out.push({
      engine, feature: `engine-${backend}`, status: r.ok && same ? 'pass' : 'fail',
      figure: r.ok ? `prefill ${r.prefillTps?.toFixed(1)} tok/s, decode ${r.decodeTps?.toFixed(1)} tok/s` : undefined,
      detail: r.ok ? (same ? 'greedy text = reference' : 'greedy text differs from the reference') : `${r.error?.name}: ${r.error?.message}`,
    });
  }
  for (const p of b.kv?.points ?? []) {
    out.push({ engine, feature: `kv-memory (${b.kv!.backend})`, kernel: `${p.mode} @${p.nCtx}`, status: p.error ? 'fail' : 'pass', figure: p.kvBytes !== undefined ? `${(p.kvBytes / 1024).toFixed(0)} KiB` : undefined, detail: p.error?.message });
  }
  return out;
}

export function matrixRows(runs: EngineRun[], refText: string): Cell[] {
  const out: Cell[] = [];
  for (const r of runs) {
    const checks = r.checks as { results?: Check[]; error?: { message: string }; skipped?: string } | undefined;
    if (checks?.skipped) out.push({ engine: r.engine, feature: 'kernel-checks', status: 'n/a', detail: checks.skipped });
    else if (!checks?.results) out.push({ engine: r.engine, feature: 'kernel-checks', status: 'fail', detail: checks?.error?.message ?? 'no result' });
    else {
      const byKernel = new Map<string, Check[]>();
      for (const c of checks.results) byKernel.set(c.kernel, [...(byKernel.get(c.kernel) ?? []), c]);
      for (const [k, cs] of byKernel) {
        const bad = cs.filter((c) => !c.ok);
        out.push({ engine: r.engine, feature: 'kernel-checks', kernel: k, status: bad.length ? 'fail' : 'pass', figure: `${cs.length - bad.length}/${cs.length} variants`, detail: bad.map((c) => c.variant).join(', ') || undefined });
      }
    }
    const b = r.bench as BenchReport | { error: { name: string; message: string } } | undefined;
    if (!b || 'error' in b) out.push({ engine: r.engine, feature: 'bench-page', status: 'fail', detail: b && 'error' in b ? `${b.error.name}: ${b.error.message}` : 'no result' });
    else out.push(...benchCells(r.engine, b, refText));
    out.push({ engine: r.engine, feature: 'no console errors', status: r.errors.length ? 'fail' : 'pass', detail: r.errors.slice(0, 3).join(' | ') || undefined });
  }
  return out;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderMatrixHtml(doc: { date: string; engines: Array<{ engine: string; version: string }>; rows: Cell[] }): string {
  const engines = doc.engines.map((e) => e.engine);
  const keys = [...new Set(doc.rows.map((r) => `${r.feature}\u0000${r.kernel ?? ''}`))];
  const cell = (e: string, key: string) => {
    const c = doc.rows.find((r) => r.engine === e && `${r.feature}\u0000${r.kernel ?? ''}` === key);
    if (!c) return '<td class="na">—</td>';
    return `<td class="${c.status === 'n/a' ? 'na' : c.status}" title="${esc(c.detail ?? '')}"><strong>${c.status}</strong>${c.figure ? `<br><small>${esc(c.figure)}</small>` : ''}${c.detail && c.status === 'fail' ? `<br><small>${esc(c.detail)}</small>` : ''}</td>`;
  };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tabshard compatibility matrix</title><style>
body{font-family:system-ui,sans-serif;margin:1rem;color:#1f1f1f} table{border-collapse:collapse} th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.pass{background:#e6f4ea} td.fail{background:#fce8e6} td.na{background:#f1f3f4;color:#444} small{color:#333}
</style></head><body><h1>tabshard compatibility matrix</h1><p>${esc(doc.date)} · ${doc.engines.map((e) => `${esc(e.engine)} ${esc(e.version)}`).join(' · ')}</p>
<p>Figures are this machine's (CPU-emulated GPUs here): compare ratios, not absolute speeds.</p>
<table><thead><tr><th scope="col">feature</th><th scope="col">kernel / case</th>${engines.map((e) => `<th scope="col">${esc(e)}</th>`).join('')}</tr></thead><tbody>
${keys.map((k) => { const [f, kern] = k.split('\u0000'); return `<tr><th scope="row">${esc(f!)}</th><td>${esc(kern!)}</td>${engines.map((e) => cell(e, k)).join('')}</tr>`; }).join('\n')}
</tbody></table></body></html>
`;
}
