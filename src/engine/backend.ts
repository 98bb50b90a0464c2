// The seam between the generate loop (and later the shard coordinator) and the compute backends.
// Both the CPU backend (TypeScript, the test oracle and the no-WebGPU fallback) and the WebGPU
// backend implement it. Hidden states cross it as Float32Array [nTok][nEmbd] only at slice
// boundaries (embed → layers → head), which is exactly what sharding ships between participants.

/**
 * Hyperparameters of one transformer graph with per-family options, read from GGUF metadata
 * (`<arch>.*` keys) as llama.cpp reads them (src/engine/config.ts, src/engine/family.ts).
 */
export interface LlamaConfig {
  arch: string; // llama (Llama 2/3, TinyLlama, SmolLM2, Mistral), qwen2, qwen3, gemma2, gemma3, phi3
  nLayer: number; // <arch>.block_count
  nEmbd: number; // <arch>.embedding_length
  nFf: number; // <arch>.feed_forward_length
  nHead: number; // <arch>.attention.head_count
  nHeadKv: number; // <arch>.attention.head_count_kv (default nHead)
  headDimK: number; // <arch>.attention.key_length (default nEmbd / nHead)
  headDimV: number; // <arch>.attention.value_length (default nEmbd / nHead)
  nVocab: number; // rows of token_embd.weight
  nCtx: number; // <arch>.context_length
  ropeDim: number; // <arch>.rope.dimension_count (default headDimK)
  ropeBase: number; // <arch>.rope.freq_base (default 10000)
  ropeScale: number; // 1 / <arch>.rope.scaling.factor for linear scaling (default 1)
  normEps: number; // <arch>.attention.layer_norm_rms_epsilon
  tiedOutput: boolean; // no output.weight: the head is token_embd.weight
  family: FamilyOptions;
}

/** What differs between the families: every backend reads these and nothing else. */
export interface FamilyOptions {
  /** RoPE pairs (i, i + ropeDim/2) (GGUF NEOX: qwen2/3, gemma, phi3) instead of (2i, 2i+1). */
  ropeNeox: boolean;
  /** Per-position frequency factors: rope_freqs (llama 3) or LongRoPE's long/short pair (phi3). */
  ropeFactors: 'rope_freqs' | 'longrope' | undefined;
  /** LongRoPE: the long factors apply when the context in use exceeds this (0: none). */
  ropeOrigCtx: number;
  /** cos/sin multiplier (rope.scaling.attn_factor; 1 elsewhere). */
  ropeAttnFactor: number;
  /** q/k/v biases (qwen2; optional on llama) and output-projection bias. */
  qkvBias: boolean;
  oBias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (attn_q_norm, attn_k_norm: qwen3, gemma3). */
  qkNorm: boolean;
  /** RMSNorm of the attention and FFN outputs before their residual adds (gemma2/3). */
  postNorms: boolean;
  /** Fused attn_qkv (rows q, k, v) and fused ffn_up (rows gate, up) (phi3). */
  fusedQkv: boolean;
  fusedGateUp: boolean;
  /** Gated FFN activation: silu(gate)·up or gelu_tanh(gate)·up (gemma). */
  ffnAct: 'silu' | 'gelu';
  /** The embedding is multiplied by this (gemma: sqrt(n_embd)). */
  embedScale: number;
  /** q·k multiplier (1/sqrt(head dim) unless the family says otherwise). */
  attnScale: number;
  /** tanh soft-caps of attention logits and final logits (0: none). */
  attnSoftcap: number;
  finalSoftcap: number;
  /** Sliding window (a query at p sees p - window < p' <= p) on the layers marked true. */
  swaWindow: number;
  swaLayers: readonly boolean[];
  /** RoPE base and position scale of the sliding-window layers (gemma3: 10000, 1). */
  ropeBaseSwa: number;
  ropeScaleSwa: number;
  /** output.bias (added to the logits). */
  outputBias: boolean;
}

export interface MemoryReport {
  weights: number;
  kv: number;
  scratch: number;
}

export interface Backend {
  readonly kind: 'cpu' | 'webgpu';
  readonly config: LlamaConfig;
  /** Layers this backend holds: [from, to). A full model holds [0, nLayer) plus embedding and head. */
  readonly layerRange: readonly [number, number];
  /** Why config.nCtx has its size ("context 4096 (the model's is 131072; default cap 4096)"). */
  readonly contextReason?: string;

  /** Embedding lookup: tokens → hidden [n][nEmbd]. */
  embed(tokens: ArrayLike<number>): Promise<Float32Array>;
  /**
   * Run layers [from, to) (within layerRange) on hidden [nTok][nEmbd] for positions pos..pos+nTok-1,
   * appending their keys/values to those layers' KV cache; returns the new hidden states.
   */
  layers(hidden: Float32Array, nTok: number, pos: number, from: number, to: number): Promise<Float32Array>;
  /** Final norm + output head: logits [n][nVocab] for the last token only, or every row if `all`. */
  head(hidden: Float32Array, nTok: number, all?: boolean): Promise<Float32Array>;
  /**
   * The whole model in one call (backends may keep the hidden state on the device): tokens at
   * positions pos.. → logits of the last token ([nVocab]) or of every token ([n][nVocab]) if `all`.
   */
  forward(tokens: ArrayLike<number>, pos: number, all?: boolean): Promise<Float32Array>;
  /** Forget KV entries at positions >= pos (a new conversation is truncate(0)). */
  truncate(pos: number): void;
  memory(): MemoryReport;
  dispose(): void;
}
