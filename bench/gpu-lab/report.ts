// What the GPU lab prints: the adapter and its limits first (so a failed run still says what it
// ran on), diagnostics when no adapter is found, and the closing tables (matvec fraction of copy
// bandwidth per type and shape; decode tok/s against the limit per model, type and KV mode).
import { existsSync, readdirSync } from 'node:fs';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import type { LabResult } from '../gpu-lab.ts';

export function adapterLines(rt: GpuRuntime): string[] {
  const a = rt.report.adapter;
  const lim = rt.limits;
  return [
    `adapter: ${a?.vendor} | ${a?.architecture} | ${a?.device} | ${a?.description}${a?.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
    `features: ${rt.report.features.join(', ')}`,
    `enabled: shader-f16 ${rt.report.enabled.shaderF16}, subgroups ${rt.report.enabled.subgroups}, timestamp-query ${rt.report.enabled.timestampQuery}`,
    `limits: maxStorageBufferBindingSize ${lim.maxStorageBufferBindingSize}, maxBufferSize ${lim.maxBufferSize}, ` +
      `maxComputeWorkgroupsPerDimension ${lim.maxComputeWorkgroupsPerDimension}, maxComputeInvocationsPerWorkgroup ${lim.maxComputeInvocationsPerWorkgroup}, ` +
      `maxComputeWorkgroupStorageSize ${lim.maxComputeWorkgroupStorageSize}`,
  ];
}

/** When Dawn finds no adapter: what the Vulkan loader had to work with. */
export function diagnostics(): string[] {
  const env = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'LD_LIBRARY_PATH', 'NODE_PATH'].map((k) => `${k}=${process.env[k] ?? ''}`);
  const ls = (d: string) => (existsSync(d) ? `${d}: ${readdirSync(d).join(' ')}` : `${d}: absent`);
  return [
    `diagnostics: ${env.join(' ')}`,
    ls('/dev/dri'),
    `nvidia device nodes: ${existsSync('/dev') ? readdirSync('/dev').filter((f) => f.startsWith('nvidia')).join(' ') || 'none' : '?'}`,
    ...['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'].map(ls),
  ];
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`.padStart(5);

export function summaryLines(r: LabResult): string[] {
  const out: string[] = [];
  if (r.matvec?.rows.length) {
    const types = [...new Set(r.matvec.rows.map((x) => x.type))];
    const shapes = [...new Set(r.matvec.rows.map((x) => `${x.rows}x${x.cols}`))];
    out.push('', `matvec: weight bytes/s as a fraction of copy bandwidth (${r.matvec.rows[0]!.variant} variant)`);
    out.push(['shape'.padEnd(12), ...types.map((t) => t.padStart(6))].join(''));
    for (const s of shapes) {
      out.push([s.padEnd(12), ...types.map((t) => {
        const x = r.matvec!.rows.find((y) => y.type === t && `${y.rows}x${y.cols}` === s);
        return (x ? pct(x.fractionOfCopy) : '-').padStart(6);
      })].join(''));
    }
  }
  for (const s of r.matvec?.skipped ?? []) if (!s.label) out.push(`matvec ${s.type}: skipped (${s.reason})`);
  if (r.matvec?.lanes.length) {
    out.push('', `matvec by threads per row (LANES; * the engine's choice here), fraction of copy: ${r.matvec.lanes[0]!.label}`);
    for (const t of [...new Set(r.matvec.lanes.map((x) => x.type))]) {
      out.push(`${t.padEnd(6)} ${r.matvec.lanes.filter((x) => x.type === t).map((x) => `${x.lanes}${x.isDefault ? '*' : ''} ${pct(x.fractionOfCopy)}`).join('  ')}`);
    }
  }
  if (r.decode?.runs.length) {
    out.push('', 'decode: tok/s vs the limit copy bandwidth / (weight + KV bytes per token)');
    out.push('model (layers)              type  kv    pos    tok/s  limit   frac  disp  overhead');
    for (const run of r.decode.runs) {
      for (const p of run.points) {
        out.push([
          `${run.model} (${run.layers}/${run.realLayers})`.padEnd(28), run.type.padEnd(6), run.kvMode.padEnd(4), String(p.pos).padStart(5),
          p.tokPerSecond.toFixed(1).padStart(9), p.limitTokPerSecond.toFixed(1).padStart(7), pct(p.fractionOfLimit).padStart(6),
          String(p.work.dispatches).padStart(6), p.overheadFraction !== undefined ? pct(p.overheadFraction).padStart(9) : '',
        ].join(' '));
      }
    }
  }
  for (const run of r.decode?.runs.filter((x) => x.graphs) ?? []) {
    out.push('', `decode graphs: ${run.model} (${run.layers}/${run.realLayers}) ${run.type} at pos ${run.points[0]!.pos}`);
    for (const g of run.graphs!) {
      out.push(`${(g.graph + (g.isDefault ? ' (default)' : '')).padEnd(28)} ${g.tokPerSecond.toFixed(1).padStart(9)} tok/s ${pct(g.fractionOfLimit).padStart(6)} of the limit, ${g.dispatches} dispatches, ${g.activationBytes} activation bytes/token`);
    }
  }
  const skipped = [...(r.matvec?.skipped.filter((s) => s.label) ?? []), ...(r.decode?.skipped ?? [])];
  if (skipped.length) out.push('', `skipped: ${skipped.length} item(s), listed in the JSON`);
  for (const c of r.decode?.layerCuts ?? []) out.push(`${c.model}: ${c.layers} of ${c.realLayers} layers (${c.reason})`);
  for (const n of r.notes) out.push(`note: ${n}`);
  if (r.budget) out.push(`time: ${r.budget.elapsedS.toFixed(0)} s of ${r.budget.totalS} (${r.budget.sections.map((s) => `${s.name} ${s.usedS.toFixed(0)}/${s.budgetS.toFixed(0)}`).join(', ')})`);
  return out;
}
