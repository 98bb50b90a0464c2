// The exported folder, checked three ways: the ONNX protobuf (names, shapes, dtypes, ops), the
// decoder run by onnxruntime-node against the reference logits and our engine's greedy tokens, and
// the q4 (MatMulNBits) variant against the f32 one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { decodeModel, DT, type ModelProto, type ValueInfoProto } from '../../src/onnx/proto.ts';
import { cpuModel, maxRelRowError, modelFile, ref } from '../engine/helpers.ts';
import { fixtureF32 } from '../formats/fixtures.ts';
import { argmaxRow, decoder, exportFixture, greedy, ort, REF, type Exported, type Session } from './helpers.ts';

const r = ref(REF);
const SHAPE = { nLayer: 5, nKv: 4, headDim: 8, vocab: 512 };
let ex: Exported;
let model: ModelProto;
let f32: Session;
let q4: Session;

beforeAll(async () => {
  ex = await exportFixture(['f32', 'q4']);
  model = decodeModel(readFileSync(join(ex.dir, 'onnx/model.onnx')));
  f32 = await ort.InferenceSession.create(join(ex.dir, 'onnx/model.onnx'));
  q4 = await ort.InferenceSession.create(join(ex.dir, 'onnx/model_q4.onnx'));
});
afterAll(() => ex?.cleanup());

type Dims = (number | string)[];
const graph = () => model.graph!;
function io(list: ValueInfoProto[] | null | undefined): Record<string, { type: number; dims: Dims }> {
  return Object.fromEntries(list!.map((v) => [v.name!, {
    type: v.type!.tensorType!.elemType!,
    dims: v.type!.tensorType!.shape!.dim!.map((d) => ((d.dimParam ? d.dimParam : Number(d.dimValue)))),
  }]));
}

describe('export: the ONNX graph', () => {
  it('writes the transformers.js folder layout', () => {
    expect(ex.files.map((f) => f.path).sort()).toEqual([
      'config.json', 'generation_config.json', 'onnx/model.onnx', 'onnx/model_q4.onnx', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    const cfg = JSON.parse(readFileSync(join(ex.dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 172, num_attention_heads: 8,
      num_key_value_heads: 4, head_dim: 8, num_hidden_layers: 5, vocab_size: 512, max_position_embeddings: 512, rope_theta: 10000,
      bos_token_id: 1, eos_token_id: 2, tie_word_embeddings: true, 'transformers.js_config': { dtype: 'fp32' },
    });
    expect(cfg.rms_norm_eps).toBeCloseTo(1e-5, 10);
  });

  it('has the inputs and outputs transformers.js feeds a llama decoder, with their dtypes and dims', () => {
    const inputs = io(graph().input);
    const outputs = io(graph().output);
    expect(inputs.input_ids).toEqual({ type: DT.INT64, dims: ['batch_size', 'sequence_length'] });
    expect(inputs.attention_mask).toEqual({ type: DT.INT64, dims: ['batch_size', 'total_sequence_length'] });
    expect(inputs.position_ids).toEqual({ type: DT.INT64, dims: ['batch_size', 'sequence_length'] });
    expect(outputs.logits).toEqual({ type: DT.FLOAT, dims: ['batch_size', 'sequence_length', 512] });
    for (let i = 0; i < 5; i++) {
      for (const kv of ['key', 'value']) {
        expect(inputs[`past_key_values.${i}.${kv}`]).toEqual({ type: DT.FLOAT, dims: ['batch_size', 4, 'past_sequence_length', 8] });
        expect(outputs[`present.${i}.${kv}`]).toEqual({ type: DT.FLOAT, dims: ['batch_size', 4, 'total_sequence_length', 8] });
      }
    }
    expect(Object.keys(inputs)).toHaveLength(3 + 10);
    expect(Object.keys(outputs)).toHaveLength(1 + 10);
    expect(f32.inputNames).toEqual(graph().input!.map((v) => v.name));
    expect(f32.outputNames).toEqual(graph().output!.map((v) => v.name));
  });

  it('stores the weights under HF names with HF shapes (MatMul B = [in, out]), f32, one embedding table', () => {
    const inits = Object.fromEntries(graph().initializer!.map((t) => [t.name!, { type: t.dataType, dims: t.dims!.map(Number) }]));
    expect(inits['model.embed_tokens.weight']).toEqual({ type: DT.FLOAT, dims: [512, 64] });
    expect(inits['model.norm.weight']).toEqual({ type: DT.FLOAT, dims: [64] });
    expect(inits['lm_head.weight']).toBeUndefined(); // tied: the embedding table, transposed in-graph
    const layer = (n: string) => inits[`model.layers.0.${n}.weight`];
    expect(layer('self_attn.q_proj')).toEqual({ type: DT.FLOAT, dims: [64, 64] });
    expect(layer('self_attn.k_proj')).toEqual({ type: DT.FLOAT, dims: [64, 32] });
    expect(layer('self_attn.v_proj')).toEqual({ type: DT.FLOAT, dims: [64, 32] });
    expect(layer('self_attn.o_proj')).toEqual({ type: DT.FLOAT, dims: [64, 64] });
    expect(layer('mlp.gate_proj')).toEqual({ type: DT.FLOAT, dims: [64, 172] });
    expect(layer('mlp.down_proj')).toEqual({ type: DT.FLOAT, dims: [172, 64] });
    expect(layer('input_layernorm')).toEqual({ type: DT.FLOAT, dims: [64] });
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(graph().node!.filter((n) => n.opType === 'MatMul' && n.input![1]!.endsWith('.weight'))).toHaveLength(5 * 7);
  });
});

describe('export: running the graph (onnxruntime-node)', () => {
  it('teacher-forced logits match the float64 reference (64 positions, one prefill)', async () => {
    const want = fixtureF32(`ref/${REF}.logits.f32`);
    const got = await decoder(f32, SHAPE.nLayer, SHAPE.nKv, SHAPE.headDim).step(r.input_tokens);
    expect(got.length).toBe(want.length);
    expect(maxRelRowError(got, want, 512)).toBeLessThan(1e-4);
  });

  it('prefill in pieces through the KV cache gives the same logits as one prefill', async () => {
    const whole = await decoder(f32, SHAPE.nLayer, SHAPE.nKv, SHAPE.headDim).step(r.input_tokens.slice(0, 12));
    const d = decoder(f32, SHAPE.nLayer, SHAPE.nKv, SHAPE.headDim);
    const parts = [...await d.step(r.input_tokens.slice(0, 5)), ...await d.step(r.input_tokens.slice(5, 6)), ...await d.step(r.input_tokens.slice(6, 12))];
    expect(maxRelRowError(Float32Array.from(parts), whole, 512)).toBeLessThan(1e-5);
  });

  it('greedy decoding equals our engine and the reference 60 tokens', async () => {
    const tok = tokenizerFromGguf(modelFile(REF).file);
    const ours = await generate(await cpuModel(REF), tok, { prompt: r.prompt, maxTokens: r.generated_tokens.length });
    const onnx = await greedy(f32, tok.encode(r.prompt), r.generated_tokens.length, SHAPE);
    expect(onnx).toEqual(ours.tokens);
    expect(onnx).toEqual(r.generated_tokens);
  });

  it('q4 (MatMulNBits) runs, stays close to f32 and is a third of the size', async () => {
    const q4model = decodeModel(readFileSync(join(ex.dir, 'onnx/model_q4.onnx')));
    const nbits = q4model.graph!.node!.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits).toHaveLength(5 * 7 + 1); // every projection and the (untied, quantized) head
    expect(nbits.every((n) => n.domain === 'com.microsoft')).toBe(true);
    const sizes = Object.fromEntries(ex.files.map((f) => [f.path, f.bytes.length]));
    expect(sizes['onnx/model_q4.onnx']! / sizes['onnx/model.onnx']!).toBeLessThan(0.4);
    const a = await decoder(f32, SHAPE.nLayer, SHAPE.nKv, SHAPE.headDim).step(r.input_tokens);
    const b = await decoder(q4, SHAPE.nLayer, SHAPE.nKv, SHAPE.headDim).step(r.input_tokens);
    let agree = 0;
    for (let i = 0; i < 64; i++) if (argmaxRow(a, i, 512) === argmaxRow(b, i, 512)) agree++;
    expect(agree / 64).toBeGreaterThan(0.6);
  });
});
