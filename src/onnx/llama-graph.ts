// The llama decoder as one ONNX graph with a KV cache, in the interface transformers.js 4.x feeds a
// `LlamaForCausalLM` session: inputs input_ids, attention_mask, position_ids [batch, seq] (int64) and
// past_key_values.{i}.key/value [batch, n_kv_heads, past, head_dim]; outputs logits [batch, seq,
// vocab] and present.{i}.key/value [batch, n_kv_heads, past + seq, head_dim]. transformers.js makes
// the first (empty) cache from these input shapes: every dim except `batch_size` becomes 0 unless it
// is a number, so the head counts and head_dim must be fixed numbers here.
import type { LlamaConfig } from '../engine/backend.ts';
import { UnsupportedExportError } from './errors.ts';
import { GraphBuilder } from './graph-builder.ts';
import { addLinear, type WeightFormat } from './linear.ts';
import { DT, valueInfo, type ModelParts } from './proto.ts';
import { unpermuteHeads, type WeightReader } from './weights.ts';

export const OPSET = 17;
const NEG = -3.4028234663852886e38; // float32 lowest: exp() of it is 0, unlike -inf it cannot make NaN rows

export interface LlamaGraphOptions {
  format: WeightFormat;
}

export function checkExportable(cfg: LlamaConfig): void {
  if (cfg.arch !== 'llama') throw new UnsupportedExportError(`architecture '${cfg.arch}' (only llama)`);
  if (cfg.family.qkvBias || cfg.family.oBias || cfg.family.ropeFactors === 'longrope') throw new UnsupportedExportError('attention biases or LongRoPE');
  if (cfg.headDimK !== cfg.headDimV) throw new UnsupportedExportError(`key and value head dims differ (${cfg.headDimK}, ${cfg.headDimV})`);
  if (cfg.ropeDim !== cfg.headDimK) throw new UnsupportedExportError(`partial RoPE (${cfg.ropeDim} of ${cfg.headDimK} dims)`);
}

/** inv_freq[j] = ropeScale · base^(-2j/d) / factor[j], folded once in f64 and stored as f32. */
function invFreq(cfg: LlamaConfig, factors: Float32Array | undefined): Float32Array {
  const half = cfg.ropeDim / 2;
  return Float32Array.from({ length: half }, (_, j) => (cfg.ropeScale * Math.pow(cfg.ropeBase, (-2 * j) / cfg.ropeDim)) / (factors?.[j] ?? 1));
}

class LlamaGraph {
  readonly g = new GraphBuilder();
  cos = '';
  sin = '';
  allowed = '';
  readonly cfg: LlamaConfig;
  readonly format: WeightFormat;

  constructor(cfg: LlamaConfig, format: WeightFormat) {
    this.cfg = cfg;
    this.format = format;
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.g.op1('Unsqueeze', [x, this.g.int64(axes)]);
  }

  rmsNorm(x: string, weight: string): string {
    const g = this.g;
    const ms = g.op1('ReduceMean', [g.op1('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op1('Reciprocal', [g.op1('Sqrt', [g.op1('Add', [ms, g.float(this.cfg.normEps)])])]);
    return g.op1('Mul', [g.op1('Mul', [x, inv]), weight]);
  }

  /** cos/sin [batch, 1, seq, head_dim] from position_ids (HF's rotate_half layout: halves repeat). */
  ropeTables(factors: Float32Array | undefined): void {
    const g = this.g;
    g.scope = 'rotary';
    const pos = this.unsqueeze(g.op1('Cast', ['position_ids'], { to: DT.FLOAT }), [-1]);
    const freqs = g.op1('Mul', [pos, g.addFloat('rotary.inv_freq', [this.cfg.ropeDim / 2], invFreq(this.cfg, factors))]);
    const emb = g.op1('Concat', [freqs, freqs], { axis: -1 });
    this.cos = this.unsqueeze(g.op1('Cos', [emb]), [1]);
    this.sin = this.unsqueeze(g.op1('Sin', [emb]), [1]);
  }

  /** allowed[b, 1, i, j]: key j is visible to query i (causal over past + new, and not padding). */
  attentionMask(): void {
    const g = this.g;
    g.scope = 'mask';
    const one = g.int64([1], []);
    const seq = g.op1('Gather', [g.op1('Shape', ['input_ids']), one], { axis: 0 });
    const total = g.op1('Gather', [g.op1('Shape', ['attention_mask']), one], { axis: 0 });
    const past = g.op1('Sub', [total, seq]);
    const keys = g.op1('Range', [g.int64([0], []), total, one]);
    const queries = this.unsqueeze(g.op1('Range', [past, total, one]), [1]);
    const causal = g.op1('LessOrEqual', [keys, queries]);
    const pad = this.unsqueeze(g.op1('Cast', ['attention_mask'], { to: DT.BOOL }), [1, 2]);
    this.allowed = g.op1('And', [causal, pad]);
  }

  rope(x: string): string {
    const g = this.g;
    const hd = this.cfg.headDimK;
    const x1 = g.op1('Slice', [x, g.int64([0]), g.int64([hd / 2]), g.int64([3])]);
    const x2 = g.op1('Slice', [x, g.int64([hd / 2]), g.int64([hd]), g.int64([3])]);
    const rotated = g.op1('Concat', [g.op1('Neg', [x2]), x1], { axis: 3 });
    return g.op1('Add', [g.op1('Mul', [x, this.cos]), g.op1('Mul', [rotated, this.sin])]);
  }

  /** [batch, seq, heads*hd] → [batch, heads, seq, hd] */
  splitHeads(x: string, heads: number): string {
    const g = this.g;
    const r = g.op1('Reshape', [x, g.int64([0, 0, heads, this.cfg.headDimK])]);
    return g.op1('Transpose', [r], { perm: [0, 2, 1, 3] });
  }

  /** GQA: each KV head serves nHead/nHeadKv query heads, consecutive (HF's repeat_kv). */
  repeatKv(x: string): string {
    const { nHead, nHeadKv, headDimK } = this.cfg;
    if (nHead === nHeadKv) return x;
    const g = this.g;
    const e = g.op1('Expand', [this.unsqueeze(x, [2]), g.int64([1, 1, nHead / nHeadKv, 1, 1])]);
    return g.op1('Reshape', [e, g.int64([0, nHead, -1, headDimK])]);
  }

  async layer(i: number, h: string, w: WeightReader): Promise<string> {
    const g = this.g;
    const { nHead, nHeadKv, headDimK } = this.cfg;
    const p = `model.layers.${i}`;
    g.scope = `${p}/self_attn`;
    const x = this.rmsNorm(h, g.addFloat(`${p}.input_layernorm.weight`, [this.cfg.nEmbd], await w.vector(`blk.${i}.attn_norm.weight`)));
    const q = addLinear(g, x, `${p}.self_attn.q_proj.weight`, unpermuteHeads(await w.matrix(`blk.${i}.attn_q.weight`), nHead), this.format);
    const k = addLinear(g, x, `${p}.self_attn.k_proj.weight`, unpermuteHeads(await w.matrix(`blk.${i}.attn_k.weight`), nHeadKv), this.format);
    const v = addLinear(g, x, `${p}.self_attn.v_proj.weight`, await w.matrix(`blk.${i}.attn_v.weight`), this.format);
    const qh = this.rope(this.splitHeads(q, nHead));
    const kh = this.rope(this.splitHeads(k, nHeadKv));
    const vh = this.splitHeads(v, nHeadKv);
    const keys = g.op1('Concat', [`past_key_values.${i}.key`, kh], { axis: 2 }, { out: `present.${i}.key` });
    const values = g.op1('Concat', [`past_key_values.${i}.value`, vh], { axis: 2 }, { out: `present.${i}.value` });
    const kt = g.op1('Transpose', [this.repeatKv(keys)], { perm: [0, 1, 3, 2] });
    const scores = g.op1('Mul', [g.op1('MatMul', [qh, kt]), g.float(1 / Math.sqrt(headDimK))]);
    const probs = g.op1('Softmax', [g.op1('Where', [this.allowed, scores, g.float(NEG)])], { axis: -1 });
    const ctx = g.op1('Transpose', [g.op1('MatMul', [probs, this.repeatKv(values)])], { perm: [0, 2, 1, 3] });
    const merged = g.op1('Reshape', [ctx, g.int64([0, 0, nHead * headDimK])]);
    const attn = addLinear(g, merged, `${p}.self_attn.o_proj.weight`, await w.matrix(`blk.${i}.attn_output.weight`), this.format);
    const h2 = g.op1('Add', [h, attn]);

    g.scope = `${p}/mlp`;
    const y = this.rmsNorm(h2, g.addFloat(`${p}.post_attention_layernorm.weight`, [this.cfg.nEmbd], await w.vector(`blk.${i}.ffn_norm.weight`)));
    const gate = addLinear(g, y, `${p}.mlp.gate_proj.weight`, await w.matrix(`blk.${i}.ffn_gate.weight`), this.format);
    const up = addLinear(g, y, `${p}.mlp.up_proj.weight`, await w.matrix(`blk.${i}.ffn_up.weight`), this.format);
    const act = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]);
    const down = addLinear(g, act, `${p}.mlp.down_proj.weight`, await w.matrix(`blk.${i}.ffn_down.weight`), this.format);
    return g.op1('Add', [h2, down]);
  }
}

/** Builds the whole decoder; weights are read (and dequantized) one tensor at a time. */
export async function buildLlamaGraph(cfg: LlamaConfig, w: WeightReader, opts: LlamaGraphOptions): Promise<ModelParts> {
  checkExportable(cfg);
  const lg = new LlamaGraph(cfg, opts.format);
  const g = lg.g;
  const factors = w.has('rope_freqs.weight') ? await w.vector('rope_freqs.weight') : undefined;
  lg.ropeTables(factors);
  lg.attentionMask();

  g.scope = 'model/embed_tokens';
  const embd = await w.matrix('token_embd.weight'); // [vocab][n_embd]: Gather rows by token id
  const embName = g.addFloat('model.embed_tokens.weight', [embd.rows, embd.cols], embd.data);
  let h = g.op1('Gather', [embName, 'input_ids'], { axis: 0 });
  for (let i = 0; i < cfg.nLayer; i++) h = await lg.layer(i, h, w);

  g.scope = 'lm_head';
  const x = lg.rmsNorm(h, g.addFloat('model.norm.weight', [cfg.nEmbd], await w.vector('output_norm.weight')));
  if (cfg.tiedOutput && opts.format === 'f32') {
    // Tied: one copy of the table; onnxruntime folds this Transpose of an initializer at load time.
    g.op1('MatMul', [x, g.op1('Transpose', [embName], { perm: [1, 0] })], {}, { out: 'logits' });
  } else {
    addLinear(g, x, 'lm_head.weight', cfg.tiedOutput ? embd : await w.matrix('output.weight'), opts.format, 'logits');
  }

  const kvDims = ['batch_size', cfg.nHeadKv, 'past_sequence_length', cfg.headDimK];
  const presentDims = ['batch_size', cfg.nHeadKv, 'total_sequence_length', cfg.headDimK];
  const inputs = [
    valueInfo('input_ids', DT.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', DT.INT64, ['batch_size', 'sequence_length']),
  ];
  const outputs = [valueInfo('logits', DT.FLOAT, ['batch_size', 'sequence_length', cfg.nVocab])];
  for (let i = 0; i < cfg.nLayer; i++) {
    for (const kv of ['key', 'value']) {
      inputs.push(valueInfo(`past_key_values.${i}.${kv}`, DT.FLOAT, kvDims));
      outputs.push(valueInfo(`present.${i}.${kv}`, DT.FLOAT, presentDims));
    }
  }
  const opsets: Record<string, number> = { '': OPSET };
  if (opts.format === 'q4') opsets['com.microsoft'] = 1;
  return { nodes: g.nodes, initializers: g.initializers, inputs, outputs, opsets, graphName: 'tabshard_llama' };
}
