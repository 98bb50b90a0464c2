import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeGguf, typeForRow } from '../../src/quant/quantize-gguf.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { metaNumber } from '../../src/formats/gguf-meta.ts';
import { GgmlType, ggmlTypeByName } from '../../src/quant/ggml-types.ts';
import { fixture, fixturesDir, repoRoot } from '../formats/fixtures.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'tabshard-quant-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('quantizeGguf', () => {
  it('q8_0 of pad256-f32 reproduces ggml\'s pad256-q8_0.gguf byte for byte', async () => {
    const { bytes, summary } = await quantizeGguf(bytesSource(fixture('stories260K-pad256-f32.gguf')), { type: GgmlType.Q8_0 });
    expect(Buffer.compare(bytes, fixture('stories260K-pad256-q8_0.gguf'))).toBe(0);
    expect(summary.tensorsPerType).toEqual({ q8_0: 36, f32: 11 });
  });

  it('q4_k of pad256-f32 has the header (types, offsets, metadata) of ggml\'s pad256-q4_k.gguf', async () => {
    const events: string[] = [];
    const { bytes, summary } = await quantizeGguf(bytesSource(fixture('stories260K-pad256-f32.gguf')), {
      type: GgmlType.Q4_K, onProgress: (e) => events.push(e.tensor),
    });
    const ref = fixture('stories260K-pad256-q4_k.gguf');
    const ours = parseGguf(bytes);
    expect(bytes.length).toBe(ref.length);
    expect(Buffer.compare(bytes.subarray(0, ours.dataOffset), ref.subarray(0, ours.dataOffset))).toBe(0);
    expect(summary.tensorsPerType).toEqual({ q4_K: 31, q8_0: 5, f32: 11 });
    expect(events).toHaveLength(47);
    expect(summary.bitsPerWeight).toBeCloseTo((bytes.length - ours.dataOffset) * 8 / ours.tensors.reduce((a, t) => a + t.nElements, 0), 6);
  });

  it('falls back for rows that are not whole blocks, and sets file_type/quantization_version', async () => {
    const { bytes } = await quantizeGguf(bytesSource(fixture('stories260K-f32.gguf')), { type: GgmlType.Q6_K });
    const g = parseGguf(bytes);
    const type = (n: string) => g.tensors.find((t) => t.name === n)!.typeName;
    expect(type('token_embd.weight')).toBe('q8_0'); // 64-long rows
    expect(type('blk.0.ffn_down.weight')).toBe('f16'); // 172-long rows
    expect(type('blk.0.attn_norm.weight')).toBe('f32');
    expect(metaNumber(g, 'general.file_type')).toBe(18);
    expect(metaNumber(g, 'general.quantization_version')).toBe(2);
    expect([...g.metadata.keys()].slice(0, 4)).toEqual(['general.architecture', 'general.name', 'general.file_type', 'general.quantization_version']);
    expect(typeForRow(GgmlType.Q2_K, 512)).toBe(GgmlType.Q2_K);
    expect(typeForRow(GgmlType.Q2_K, 96)).toBe(GgmlType.Q8_0);
  });

  it('stops on an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(quantizeGguf(bytesSource(fixture('stories260K-f32.gguf')), { type: GgmlType.Q8_0, signal: ac.signal }))
      .rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('tabshard quantize (CLI)', () => {
  it('writes a readable file and prints a JSON summary', async () => {
    const out = join(tmp, 'q3.gguf');
    const { stdout } = await run(process.execPath, [
      join(repoRoot, 'bin/tabshard.js'), 'quantize', join(fixturesDir, 'stories260K-pad256-f32.gguf'), out, '--type', 'q3_k',
    ], { cwd: repoRoot });
    const s = JSON.parse(stdout) as { type: string; tensorsPerType: Record<string, number>; outputBytes: number; bitsPerWeight: number; rmsError: number };
    expect(s.type).toBe('q3_K');
    expect(s.tensorsPerType).toEqual({ q3_K: 31, q8_0: 5, f32: 11 });
    const bytes = new Uint8Array(readFileSync(out));
    expect(s.outputBytes).toBe(bytes.length);
    expect(bytes.length).toBe(fixture('stories260K-pad256-q3_k.gguf').length);
    expect(parseGguf(bytes).tensors.filter((t) => t.type === ggmlTypeByName('q3_k')!.id)).toHaveLength(31);
    expect(s.rmsError).toBeGreaterThan(0);
    expect(s.bitsPerWeight).toBeGreaterThan(3.4);
    expect(s.bitsPerWeight).toBeLessThan(4);
  });

  it('refuses an unknown --type', async () => {
    await expect(run(process.execPath, [join(repoRoot, 'bin/tabshard.js'), 'quantize', 'a', 'b', '--type', 'q5_k'], { cwd: repoRoot }))
      .rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('UsageError') });
  });
});
