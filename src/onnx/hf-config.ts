// config.json and generation_config.json of a Hugging Face LlamaForCausalLM, from our LlamaConfig
// (GGUF metadata), plus the `transformers.js_config` block that tells transformers.js which ONNX
// file (dtype suffix) to load by default and that no external data file exists.
import type { LlamaConfig } from '../engine/backend.ts';
import type { Vocab } from '../engine/tokenizer/vocab.ts';
import type { WeightFormat } from './linear.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** transformers.js dtype names and the model file each selects (`onnx/model{suffix}.onnx`). */
export const DTYPE_OF: Record<WeightFormat, { dtype: string; file: string }> = {
  f32: { dtype: 'fp32', file: 'onnx/model.onnx' },
  q4: { dtype: 'q4', file: 'onnx/model_q4.onnx' },
};

export function hfConfig(cfg: LlamaConfig, vocab: Vocab, defaultFormat: WeightFormat): Record<string, JsonValue> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: cfg.nEmbd,
    intermediate_size: cfg.nFf,
    num_attention_heads: cfg.nHead,
    num_key_value_heads: cfg.nHeadKv,
    head_dim: cfg.headDimK,
    num_hidden_layers: cfg.nLayer,
    hidden_act: 'silu',
    rms_norm_eps: cfg.normEps,
    rope_theta: cfg.ropeBase,
    // Our ropeScale is 1/factor of linear scaling; HF states the factor.
    rope_scaling: cfg.ropeScale === 1 ? null : { type: 'linear', rope_type: 'linear', factor: 1 / cfg.ropeScale },
    vocab_size: cfg.nVocab,
    max_position_embeddings: cfg.nCtx,
    bos_token_id: vocab.bos ?? null,
    eos_token_id: vocab.eos ?? null,
    tie_word_embeddings: cfg.tiedOutput,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    'transformers.js_config': {
      dtype: DTYPE_OF[defaultFormat].dtype,
      use_external_data_format: false,
    },
  };
}

export function generationConfig(vocab: Vocab): Record<string, JsonValue> {
  return {
    bos_token_id: vocab.bos ?? null,
    eos_token_id: vocab.eos ?? null,
    do_sample: false,
  };
}
