// Small pieces of the export checked on their own: the Q/K un-permute (GGUF interleaved-pair RoPE ≡
// HF rotate_half on the re-ordered rows), 4-bit packing, and registry validation of folder entries.
import { describe, expect, it } from 'vitest';
import { rope, ropeTable } from '../../src/engine/cpu/math.ts';
import { quantizeQ4, Q4_BLOCK } from '../../src/onnx/linear.ts';
import { unpermuteHeads, type Matrix } from '../../src/onnx/weights.ts';
import { addEntry, emptyRegistry, type RegistryEntry } from '../../src/store/registry.ts';
import { seededRandom } from '../../src/engine/sampler.ts';

/** HF's rotate_half RoPE on one head vector (pairs j and j + hd/2). */
function rotateHalf(x: Float32Array, pos: number, base: number): Float32Array {
  const hd = x.length;
  const out = new Float32Array(hd);
  for (let j = 0; j < hd / 2; j++) {
    const th = pos * Math.pow(base, (-2 * j) / hd);
    out[j] = x[j]! * Math.cos(th) - x[j + hd / 2]! * Math.sin(th);
    out[j + hd / 2] = x[j + hd / 2]! * Math.cos(th) + x[j]! * Math.sin(th);
  }
  return out;
}

describe('un-permuted Q/K rows with rotate_half equal GGUF rows with interleaved RoPE', () => {
  it('gives the same q·k scores for random weights, inputs and positions', () => {
    const rand = seededRandom(7);
    const heads = 2, hd = 8, cols = 5;
    const m = (): Matrix => ({ rows: heads * hd, cols, data: Float32Array.from({ length: heads * hd * cols }, () => rand() * 2 - 1), ggmlType: 0 });
    const wq = m(), wk = m();
    const x = Float32Array.from({ length: cols }, () => rand() * 2 - 1);
    const mv = (w: Matrix): Float32Array => Float32Array.from({ length: w.rows }, (_, r) => w.data.subarray(r * cols, (r + 1) * cols).reduce((a, v, c) => a + v * x[c]!, 0));
    const [pq, pk] = [7, 3];
    // GGUF: interleaved pairs via the engine's own RoPE.
    const q = mv(wq), k = mv(wk);
    rope(q, 1, heads, hd, ropeTable(pq, 1, hd, 10000, 1));
    rope(k, 1, heads, hd, ropeTable(pk, 1, hd, 10000, 1));
    const hq = mv(unpermuteHeads(wq, heads)), hk = mv(unpermuteHeads(wk, heads));
    for (let h = 0; h < heads; h++) {
      const a = rotateHalf(hq.subarray(h * hd, (h + 1) * hd), pq, 10000);
      const b = rotateHalf(hk.subarray(h * hd, (h + 1) * hd), pk, 10000);
      const hf = a.reduce((s, v, i) => s + v * b[i]!, 0);
      const gg = q.subarray(h * hd, (h + 1) * hd).reduce((s, v, i) => s + v * k[h * hd + i]!, 0);
      expect(hf).toBeCloseTo(gg, 5);
    }
  });
});

describe('4-bit blocks for MatMulNBits', () => {
  it('packs element 2i low, 2i+1 high, maps the largest magnitude to q=0 and pads a ragged block', () => {
    const cols = 40; // one full block and one of 8 (padded with zeros → q = 8)
    const data = Float32Array.from({ length: cols }, (_, i) => (i === 3 ? -4 : (i % 5) - 2));
    const q = quantizeQ4({ rows: 1, cols, data, ggmlType: 0 });
    expect(q.kBlocks).toBe(2);
    expect(q.scales[0]).toBeCloseTo(0.5, 7); // -4 / -8
    const nib = (b: number, i: number) => (q.packed[b * (Q4_BLOCK / 2) + (i >> 1)]! >> ((i & 1) * 4)) & 15;
    expect(nib(0, 3)).toBe(0);
    for (let i = 0; i < Q4_BLOCK; i++) if (i !== 3) expect((nib(0, i) - 8) * q.scales[0]!).toBeCloseTo(data[i]!, 6);
    for (let i = 8; i < Q4_BLOCK; i++) expect(nib(1, i)).toBe(8);
  });
});

describe('registry: transformers.js folder entries', () => {
  const entry = (files: RegistryEntry['files']): RegistryEntry => ({
    name: 'm', version: '1.0.0', cid: 'bafy-dir-root-cid', size: 1, sha256: '0'.repeat(64), format: 'onnx', tags: [],
    publishedAt: '', kind: 'transformers.js', tasks: ['text-generation'], files,
  });
  const file = { cid: 'bafy-file-cid-xx', size: 1, sha256: 'a'.repeat(64) };
  it('accepts relative paths and rejects paths that could escape the folder', () => {
    expect(addEntry(emptyRegistry(), entry({ 'onnx/model.onnx': file })).entries).toHaveLength(1);
    for (const bad of ['../x', 'onnx/../../x', '/abs', 'a//b', './a']) {
      expect(() => addEntry(emptyRegistry(), entry({ [bad]: file }))).toThrow(expect.objectContaining({ name: 'RegistryError' }));
    }
    expect(() => addEntry(emptyRegistry(), entry({}))).toThrow(/files/);
  });
});
