// The GPU lab end to end, as the GPU machine would run it but on SwiftShader: `npm run gpu-lab --
// pack` into a temp folder, then the pack's own run.sh (Node unpacked from node.xz, Dawn from
// webgpu.txz, the bundled bench.mjs run from a temp dir: nothing from src/) with --size small. The
// JSON must have every section, and every measured figure finite and positive.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACK_LIMIT_BYTES } from '../../scripts/gpu-lab-pack.ts';
import type { LabResult } from '../../bench/gpu-lab.ts';

const dir = mkdtempSync(join(tmpdir(), 'gpu-lab-test-'));
const pack = join(dir, 'pack');
const out = join(dir, 'out');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every number anywhere in `v`, with its path. */
function numbers(v: unknown, path = '$', acc: [string, number][] = []): [string, number][] {
  if (typeof v === 'number') acc.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${path}[${i}]`, acc));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) numbers(x, `${path}.${k}`, acc);
  return acc;
}

describe('gpu-lab pack + run.sh --size small', () => {
  it('packs under 64 MiB and the packed benchmark writes a complete JSON', () => {
    // xz -1 keeps a first pack on a clean machine to seconds (level 6 is the default for real packs).
    const p = spawnSync(process.execPath, ['scripts/gpu-lab.ts', 'pack', '--out', pack, '--xz-level', '1'], { encoding: 'utf8' });
    expect(p.status, p.stderr + p.stdout).toBe(0);
    const files = ['bench.mjs', 'webgpu.txz', 'node.xz', 'gl-libs.txz', 'run.sh', 'manifest.json'];
    for (const f of files) expect(existsSync(join(pack, f)), f).toBe(true);
    const total = files.reduce((n, f) => n + statSync(join(pack, f)).size, 0);
    expect(total).toBeLessThanOrEqual(PACK_LIMIT_BYTES);
    const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8')) as { files: { name: string; bytes: number }[] };
    for (const f of manifest.files) expect(statSync(join(pack, f.name)).size, f.name).toBe(f.bytes);
    const code = readFileSync(join(pack, 'bench.mjs'), 'utf8');
    expect(code).toContain('@compute'); // the WGSL travels inside
    expect(code).not.toMatch(/from ["']\.\.?\//); // no relative imports left: one file

    const r = spawnSync('bash', [join(pack, 'run.sh'), '--size', 'small'], { cwd: dir, encoding: 'utf8', env: { ...process.env, OUT: out }, timeout: 560_000 });
    const log = `${r.stdout}\n${r.stderr}`;
    expect(r.status, log.slice(-4000)).toBe(0);
    console.log(log.split('\n').filter((l) => !/XDG_RUNTIME_DIR/.test(l)).slice(-45).join('\n'));
    expect(existsSync(join(out, 'gpu-lab.log'))).toBe(true);
    const j = JSON.parse(readFileSync(join(out, 'gpu-lab.json'), 'utf8')) as LabResult;

    expect(j.tool).toBe('tabshard gpu-lab');
    expect(j.size).toBe('small');
    expect(j.errors).toEqual([]);
    expect((j.adapter as { adapter?: { vendor?: string } }).adapter?.vendor).toBeTruthy();
    const bw = j.bandwidth!;
    for (const rate of [bw.copyKernel, bw.bufferCopy, bw.readKernel]) {
      expect(rate.bytes).toBeGreaterThan(0);
      expect(rate.seconds).toBeGreaterThan(0);
      expect(rate.bytesPerSecond).toBeGreaterThan(0);
    }
    // Every type with a GPU kernel on every shape, unless the time box skipped it (and said so).
    const mv = j.matvec!;
    expect(mv.rows.length).toBeGreaterThan(0);
    const kernelTypes = new Set(mv.rows.map((x) => x.type));
    for (const t of ['Q2_K', 'Q3_K', 'Q4_K', 'Q6_K', 'Q8_0', 'F16']) expect(kernelTypes.has(t) || mv.skipped.some((s) => s.type === t), t).toBe(true);
    for (const row of mv.rows) {
      for (const k of ['seconds', 'weightBytes', 'weightBytesPerSecond', 'fractionOfCopy'] as const) expect(row[k], `${row.type} ${row.label} ${k}`).toBeGreaterThan(0);
    }
    for (const s of mv.skipped) expect(s.reason).toBeTruthy();
    // The LANES sweep: each value measured (or the box said why not), the engine's choice among them.
    expect(mv.lanes.length > 0 || mv.skipped.some((s) => s.label?.startsWith('lanes '))).toBe(true);
    for (const l of mv.lanes) expect(l.fractionOfCopy, `${l.type} lanes ${l.lanes}`).toBeGreaterThan(0);
    if (mv.lanes.length === 2) expect(mv.lanes.filter((l) => l.isDefault).map((l) => l.lanes)).toEqual([4]);
    const o = j.overhead!;
    for (const k of ['emptyDispatchSeconds', 'submitWaitSeconds', 'readbackSeconds'] as const) expect(o[k], k).toBeGreaterThan(0);

    const d = j.decode!;
    for (const name of ['llama3.2-1b-small', 'llama3-8b-small']) expect(d.runs.some((x) => x.model === name), name).toBe(true);
    for (const run of d.runs) {
      expect(run.points.length).toBeGreaterThan(0);
      for (const p of run.points) {
        for (const k of ['tokPerSecond', 'limitTokPerSecond', 'fractionOfLimit', 'bytesPerToken', 'overheadSeconds'] as const) {
          expect(p[k], `${run.model} ${run.type} ${run.kvMode} pos ${p.pos} ${k}`).toBeGreaterThan(0);
        }
        expect(p.work.dispatches).toBeGreaterThan(0);
        expect(p.work.weightBytes).toBeGreaterThanOrEqual(run.floorBytesPerToken);
        expect(p.logitsFinite).toBe(true);
      }
    }
    for (const s of d.skipped) expect(s.reason).toBeTruthy();
    // The three decode graphs on one run (or the time box said why not): fewer dispatches as more is fused.
    const g = d.runs.find((x) => x.graphs)?.graphs;
    if (g) {
      expect(g.map((x) => x.graph)).toEqual(['fused', 'fused, norm apart', 'unfused']);
      expect(g.filter((x) => x.isDefault).length).toBe(1);
      expect(g[0]!.dispatches).toBeLessThan(g[1]!.dispatches);
      expect(g[1]!.dispatches).toBeLessThan(g[2]!.dispatches);
      for (const x of g) expect(x.tokPerSecond).toBeGreaterThan(0);
    } else {
      expect(d.skipped.some((s) => s.reason.startsWith('graph comparison'))).toBe(true);
    }
    // Nothing anywhere is NaN, infinite or negative.
    const bad = numbers(j).filter(([, v]) => !Number.isFinite(v) || v < 0);
    expect(bad).toEqual([]);
  }, 600_000);

  it('refuses, loudly, a pack over 64 MiB', () => {
    // An incompressible 'node' of 65 MiB: with the rest the pack cannot fit.
    const fake = join(dir, 'fake-node');
    writeFileSync(fake, randomBytes(65 * 2 ** 20));
    const big = join(dir, 'big');
    const p = spawnSync(process.execPath, ['scripts/gpu-lab.ts', 'pack', '--out', big, '--node', fake, '--xz-level', '0', '--no-libs'], { encoding: 'utf8' });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/GpuLabPackError: the pack is \d+\.\d MiB, over the 64 MiB one call may carry/);
  }, 300_000);
});
