// Wire-free types of the shard planner: what a model costs, what a participant offers, and the plan.
// All sizes in bytes, all times in seconds per token (decode: one token through the pipeline).

/** Per-layer costs of a model (see costs.ts for how they come from a GGUF file). */
export interface ModelCosts {
  readonly nLayer: number;
  /** Context length the KV cache is sized for. */
  readonly nCtx: number;
  /** Weight bytes of each layer, as stored (quantized). */
  readonly layerWeightBytes: readonly number[];
  /** The same bytes by ggml type name, per layer (for display and for type-specific speed models). */
  readonly layerWeightBytesByType: readonly Readonly<Record<string, number>>[];
  /** KV-cache bytes per token for each layer (keys + values). */
  readonly kvBytesPerToken: readonly number[];
  /** Compute seconds per token for each layer on the reference device (measured or estimated). */
  readonly layerSeconds: readonly number[];
  /** token_embd bytes (held by the coordinator). */
  readonly embeddingBytes: number;
  /** output_norm + output bytes (0 for output when tied to the embedding). */
  readonly headBytes: number;
  readonly embedSeconds: number;
  readonly headSeconds: number;
  /** Bytes of one token's hidden state on the wire (n_embd × bytes per element). */
  readonly hiddenBytesPerToken: number;
}

export interface Participant {
  readonly id: string;
  /** Memory this participant may use for weights + KV (from its capability report / calibration). */
  readonly memoryBytes: number;
  /**
   * The backend it computes on. A 'cpu' participant holds its weights in one wasm32 memory, so its
   * budget is also capped by that memory's 4 GiB (cpu-budget.ts), whatever memory it offers.
   */
  readonly backend?: 'cpu' | 'webgpu';
  /** Speed relative to the reference device: layer time = costs.layerSeconds / speed (default 1). */
  readonly speed?: number;
  /** Measured seconds per token per layer: one number for every layer, or one per layer (overrides speed). */
  readonly layerSeconds?: number | readonly number[];
  /** Round-trip time to the coordinator (0 for the coordinator itself). */
  readonly rttSeconds: number;
  /** Bandwidth of the link to the coordinator (Infinity for the coordinator itself). */
  readonly bandwidthBytesPerSecond: number;
  /** The coordinator also holds the embedding and the head, which come out of its memory. */
  readonly coordinator?: boolean;
}

/** One participant's contiguous range of layers [from, to). */
export interface Stage {
  readonly participant: string;
  readonly from: number;
  readonly to: number;
  /** Weights + KV for the full context. */
  readonly memoryBytes: number;
  /** Compute + transfer per token for this stage. */
  readonly seconds: number;
}

export interface StageSpec {
  readonly participant: string;
  readonly from: number;
  readonly to: number;
}

export type Strategy = 'layers' | 'replicate' | 'custom';

export interface PlanOptions {
  readonly strategy: Strategy;
  /** The user's pipeline for strategy 'custom', in layer order. */
  readonly custom?: readonly StageSpec[];
  /** Place standby replicas of stages on participants the pipeline does not use. */
  readonly spares?: boolean;
  /**
   * 'fewest' (default): the fewest participants that fit, then the fastest among those.
   * 'fastest': the lowest time per token whatever the count.
   */
  readonly objective?: 'fewest' | 'fastest';
}

export interface Plan {
  readonly strategy: Strategy;
  /** The pipeline, in layer order; ranges are contiguous and cover [0, nLayer) exactly once. */
  readonly stages: readonly Stage[];
  /** Standby holders of exactly one stage's range each (promoted when that stage's holder leaves). */
  readonly spares: readonly Stage[];
  /** 'replicate': other participants holding the whole model (for throughput), fastest first. */
  readonly replicas: readonly Stage[];
  /** embed + stages + head, seconds per token for one answer. */
  readonly secondsPerToken: number;
}
