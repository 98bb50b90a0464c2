import { describe, expect, it } from 'vitest';
import { configFromGguf } from '../../src/engine/config.ts';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { fullSlice, sliceBytes, sliceWeights } from '../../src/engine/weights.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { GgufValueType, type GgufKV } from '../../src/formats/gguf-types.ts';
import { writeGguf } from '../../src/formats/gguf-writer.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { modelFile } from './helpers.ts';

describe('configFromGguf', () => {
  it('reads the fixture hyperparameters and applies defaults', () => {
    const { family, ...cfg } = configFromGguf(modelFile('stories260K-f32').file);
    expect(cfg).toEqual({
      arch: 'llama', nLayer: 5, nEmbd: 64, nFf: 172, nHead: 8, nHeadKv: 4, headDimK: 8, headDimV: 8, nVocab: 512,
      nCtx: 512, ropeDim: 8, ropeBase: 10000, ropeScale: 1, normEps: Math.fround(1e-5), tiedOutput: true,
    });
    // The plain llama graph: NORMAL RoPE, SwiGLU, no biases, norms, caps or windows.
    expect(family).toMatchObject({
      ropeNeox: false, ropeFactors: undefined, qkvBias: false, oBias: false, qkNorm: false, postNorms: false, fusedQkv: false,
      fusedGateUp: false, ffnAct: 'silu', embedScale: 1, attnScale: 1 / Math.sqrt(8), attnSoftcap: 0, finalSoftcap: 0, swaWindow: 0,
    });
    expect(family.swaLayers).toEqual([false, false, false, false, false]);
    // pad256: head dims come from key_length/value_length, not embedding/heads.
    const p = configFromGguf(modelFile('stories260K-pad256-q4_k').file);
    expect([p.nEmbd, p.headDimK, p.headDimV, p.normEps]).toEqual([256, 8, 8, Math.fround(1e-5) / 4]);
  });

  it('rejects other architectures by name', () => {
    const kv = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });
    const file = parseGguf(writeGguf({ metadata: [kv('general.architecture', 'mamba')], tensors: [] }));
    expect(() => configFromGguf(file)).toThrow(expect.objectContaining({ name: 'UnsupportedModelError', arch: 'mamba' }));
    expect(() => configFromGguf(file)).toThrow(/mamba/);
  });
});

describe('families', () => {
  const kv = (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value });
  /** The f32 fixture rewritten with `edit` applied to its tensor list and another architecture name. */
  function rewrite(arch: string, edit: (ts: { name: string; shape: number[]; type: number; data: Uint8Array }[]) => void): Uint8Array {
    const bytes = modelFile('stories260K-f32').bytes;
    const f = parseGguf(bytes);
    const tensors = f.tensors.map((t) => ({ name: t.name, shape: [...t.shape], type: t.type, data: bytes.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize) }));
    edit(tensors);
    const metadata = [...f.metadata.values()].map((m) => m.key === 'general.architecture' ? kv(m.key, arch) : { ...m, key: m.key.replace(/^llama\./, `${arch}.`) });
    return writeGguf({ metadata, tensors });
  }

  it('refuses a tensor the graph would not use, by name', () => {
    const extra = rewrite('llama', (ts) => ts.push({ name: 'blk.1.ffn_gate_inp.weight', shape: [64, 4], type: 0, data: new Uint8Array(64 * 4 * 4) }));
    expect(() => configFromGguf(parseGguf(extra))).toThrow(expect.objectContaining({ name: 'UnsupportedModelError', message: expect.stringContaining("'blk.1.ffn_gate_inp.weight'") }));
  });

  it("names a family's missing tensor (qwen3 without its q/k norms)", async () => {
    const bytes = rewrite('qwen3', () => undefined);
    const file = parseGguf(bytes);
    expect(configFromGguf(file).family).toMatchObject({ ropeNeox: true, qkNorm: true });
    await expect(createCpuBackend(file, bytesSource(bytes))).rejects.toMatchObject({ name: 'ModelTensorError', message: expect.stringContaining("'blk.0.attn_q_norm.weight'") });
  });
});

describe('weights', () => {
  const { file } = modelFile('stories260K-pad256-q4_k');
  const cfg = configFromGguf(file);

  it('lists the slice tensors with types and byte sizes', () => {
    const all = sliceWeights(file, cfg, fullSlice(cfg));
    expect(all).toHaveLength(file.tensors.length);
    expect(sliceBytes(all)).toBe(file.tensors.reduce((s, t) => s + t.byteSize, 0));
    const mid = sliceWeights(file, cfg, { from: 1, to: 3, embed: false, head: false });
    expect(mid.map((r) => r.name)).toEqual([1, 2].flatMap((i) =>
      ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down'].map((r) => `blk.${i}.${r}.weight`)));
    expect(mid.find((r) => r.name === 'blk.1.attn_output.weight')!.info.typeName).toBe('q8_0');
    // A tied head needs token_embd even without the embedding.
    expect(sliceWeights(file, cfg, { from: 5, to: 5, embed: false, head: true }).map((r) => r.name)).toEqual(['token_embd.weight', 'output_norm.weight']);
  });

  it('names the tensor and type the CPU backend cannot use', async () => {
    // Rewrite the fixture with one matrix stored as f64, a ggml type with no dequantizer here.
    const bytes = modelFile('stories260K-f32').bytes;
    const f = parseGguf(bytes);
    const hacked = writeGguf({
      metadata: f.metadata.values(),
      tensors: f.tensors.map((t) => t.name === 'blk.2.ffn_up.weight'
        ? { name: t.name, shape: t.shape, type: 28, data: new Uint8Array(t.nElements * 8) }
        : { name: t.name, shape: t.shape, type: t.type, data: bytes.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize) }),
    });
    const g = parseGguf(hacked);
    const err = await createCpuBackend(g, bytesSource(hacked)).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UnsupportedTensorTypeError', tensor: 'blk.2.ffn_up.weight', typeName: 'f64' });
    // A slice that does not hold layer 2 loads fine.
    const ok = await createCpuBackend(g, bytesSource(hacked), { layers: [0, 2] });
    expect(ok.layerRange).toEqual([0, 2]);
  });

  it('loading honours an aborted signal', async () => {
    const { file: f, bytes } = modelFile('stories260K-f32');
    await expect(createCpuBackend(f, bytesSource(bytes), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
