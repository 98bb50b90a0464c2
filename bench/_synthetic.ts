// Synthetic llama GGUF models with real shapes and random weights, for benchmarks (speed only:
// random blocks, every bit pattern, f16 scales ~ 0.01). Shapes from the published model configs.
import { writeGguf } from '../src/formats/gguf-writer.ts';
import { GgufValueType } from '../src/formats/gguf-types.ts';
import type { GgufKV } from '../src/formats/gguf-types.ts';
import { randomTensorBytes } from '../src/gpu/quant-checks.ts';
import { rng } from '../src/util/random.ts';

export interface Shape {
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nVocab: number;
}

export const SHAPES: Record<string, Shape> = {
  // TinyLlama-1.1B (the shape ANCHORS.md measured llama.cpp and wllama on).
  tinyllama: { nEmbd: 2048, nFf: 5632, nLayer: 22, nHead: 32, nHeadKv: 4, nVocab: 32000 },
  // Llama-3.2-1B.
  'llama3.2-1b': { nEmbd: 2048, nFf: 8192, nLayer: 16, nHead: 32, nHeadKv: 8, nVocab: 128256 },
};

const kv = (key: string, type: number, value: GgufKV['value']): GgufKV => ({ key, type: type as GgufKV['type'], value });

/** A GGUF file: matrices in `type`, output in Q6_K (as llama.cpp's quantizer does), norms F32. */
export function syntheticGguf(shape: Shape, type: number, seed = 7): Uint8Array {
  const next = rng(seed);
  const hd = shape.nEmbd / shape.nHead;
  const tensors: { name: string; shape: number[]; type: number; data: Uint8Array }[] = [];
  const mat = (name: string, cols: number, rows: number, t = type) => tensors.push({ name, shape: [cols, rows], type: t, data: randomTensorBytes(t, rows, cols, next) });
  const ones = (name: string, n: number) => tensors.push({ name, shape: [n], type: 0, data: new Uint8Array(new Float32Array(n).fill(1).buffer) });
  mat('token_embd.weight', shape.nEmbd, shape.nVocab);
  for (let i = 0; i < shape.nLayer; i++) {
    ones(`blk.${i}.attn_norm.weight`, shape.nEmbd);
    mat(`blk.${i}.attn_q.weight`, shape.nEmbd, shape.nHead * hd);
    mat(`blk.${i}.attn_k.weight`, shape.nEmbd, shape.nHeadKv * hd);
    mat(`blk.${i}.attn_v.weight`, shape.nEmbd, shape.nHeadKv * hd);
    mat(`blk.${i}.attn_output.weight`, shape.nHead * hd, shape.nEmbd);
    ones(`blk.${i}.ffn_norm.weight`, shape.nEmbd);
    mat(`blk.${i}.ffn_gate.weight`, shape.nEmbd, shape.nFf);
    mat(`blk.${i}.ffn_up.weight`, shape.nEmbd, shape.nFf);
    mat(`blk.${i}.ffn_down.weight`, shape.nFf, shape.nEmbd);
  }
  ones('output_norm.weight', shape.nEmbd);
  mat('output.weight', shape.nEmbd, shape.nVocab, 14);
  const U32 = GgufValueType.U32;
  const metadata = [
    kv('general.architecture', GgufValueType.STRING, 'llama'),
    kv('general.name', GgufValueType.STRING, 'synthetic'),
    kv('llama.context_length', U32, 2048),
    kv('llama.embedding_length', U32, shape.nEmbd),
    kv('llama.block_count', U32, shape.nLayer),
    kv('llama.feed_forward_length', U32, shape.nFf),
    kv('llama.attention.head_count', U32, shape.nHead),
    kv('llama.attention.head_count_kv', U32, shape.nHeadKv),
    kv('llama.rope.dimension_count', U32, hd),
    kv('llama.attention.layer_norm_rms_epsilon', GgufValueType.F32, 1e-5),
    kv('llama.rope.freq_base', GgufValueType.F32, 10000),
    ...syntheticVocab(shape.nVocab),
  ];
  return writeGguf({ metadata, tensors });
}

/**
 * A SentencePiece-style vocabulary llama.cpp accepts: control tokens, the 256 byte tokens, '▁', the
 * prefixes '▁a'..'▁z', then fillers '▁<letter><n>'. Filler scores fall with the id, and the
 * prefixes exist, so text tokenizes into real pieces rather than bytes (see ANCHORS.md).
 */
function syntheticVocab(n: number): GgufKV[] {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('\u2581');
  types.push(1);
  for (let c = 0; c < 26; c++) {
    tokens.push(`\u2581${String.fromCharCode(97 + c)}`);
    types.push(1);
  }
  for (let i = 0; tokens.length < n; i++) {
    tokens.push(`\u2581${String.fromCharCode(97 + (i % 26))}${Math.floor(i / 26)}`);
    types.push(1);
  }
  const scores = new Float32Array(n).map((_, i) => (i < 259 ? 0 : -(i - 259)));
  const arr = (itemType: number, values: GgufKV['value']) => ({ itemType, values }) as unknown as GgufKV['value'];
  return [
    kv('tokenizer.ggml.model', GgufValueType.STRING, 'llama'),
    kv('tokenizer.ggml.tokens', GgufValueType.ARRAY, arr(GgufValueType.STRING, tokens as unknown as GgufKV['value'])),
    kv('tokenizer.ggml.scores', GgufValueType.ARRAY, arr(GgufValueType.F32, scores as unknown as GgufKV['value'])),
    kv('tokenizer.ggml.token_type', GgufValueType.ARRAY, arr(GgufValueType.I32, Int32Array.from(types) as unknown as GgufKV['value'])),
    kv('tokenizer.ggml.bos_token_id', GgufValueType.U32, 1),
    kv('tokenizer.ggml.eos_token_id', GgufValueType.U32, 2),
    kv('tokenizer.ggml.unknown_token_id', GgufValueType.U32, 0),
  ];
}

/** Weight bytes one decoded token reads: every layer matrix once, plus the output head. */
export function bytesPerToken(file: { tensors: readonly { name: string; byteSize: number }[] }): number {
  // A tied head reads token_embd in full every token; otherwise only one row of it is read.
  const tied = !file.tensors.some((t) => t.name === 'output.weight');
  return file.tensors.filter((t) => (tied || t.name !== 'token_embd.weight') && !t.name.endsWith('norm.weight')).reduce((n, t) => n + t.byteSize, 0);
}
