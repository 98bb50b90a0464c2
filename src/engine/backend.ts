// The seam between the generate loop (and later the shard coordinator) and the compute backends.
// Both the CPU backend (TypeScript, the test oracle and the no-WebGPU fallback) and the WebGPU
// backend implement it. Hidden states cross it as Float32Array [nTok][nEmbd] only at slice
// boundaries (embed → layers → head), which is exactly what sharding ships between participants.

/** Llama-family hyperparameters, read from GGUF metadata (`<arch>.*` keys). */
export interface LlamaConfig {
  arch: string; // 'llama' (Llama 2/3, TinyLlama, SmolLM, Mistral-style GQA)
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
