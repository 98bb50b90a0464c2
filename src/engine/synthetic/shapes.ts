// Shapes of the synthetic family models: small ones (fast on a CPU-emulated GPU and in wllama) and
// the published configs of real models, whose layers a caller may cut. Every small matrix row is a
// multiple of 256 so the K-quants apply to all of them (llama.cpp falls back to Q8_0 otherwise).

export type Family = 'llama3' | 'qwen2' | 'qwen3' | 'gemma2' | 'gemma3' | 'phi3';

export const FAMILIES: readonly Family[] = ['llama3', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'phi3'];

/** general.architecture of each family (Llama 3 is llama.cpp's 'llama' with rope_freqs). */
export const ARCH: Readonly<Record<Family, string>> = {
  llama3: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', gemma2: 'gemma2', gemma3: 'gemma3', phi3: 'phi3',
};

export interface FamilyShape {
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  /** Written as attention.key_length/value_length when it differs from nEmbd/nHead or the family's converter always writes it. */
  headDim: number;
  nVocab: number;
  /** rope.dimension_count (phi3: partial rotary, < headDim). */
  ropeDim: number;
  ropeBase: number;
  normEps: number;
  /** <arch>.context_length (the training context). */
  nCtxTrain: number;
  /** No output.weight: the head is token_embd (as the real model ships). */
  tied: boolean;
  /** gemma2/gemma3 attention.sliding_window; phi3 writes one too (llama.cpp ignores it for phi3). */
  slidingWindow?: number;
  /** gemma2 soft-caps (attn_logit_softcapping, final_logit_softcapping). */
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** llama3 rope_freqs (convert_hf_to_gguf's llama3 rule): factor, low/high freq factors, original context. */
  llama3Rope?: { factor: number; low: number; high: number; origCtx: number };
  /** phi3 LongRoPE: rope.scaling.original_context_length (< nCtxTrain). */
  origCtx?: number;
}

const SMALL_BASE = { nEmbd: 256, nFf: 512, nVocab: 512, normEps: 1e-6, nCtxTrain: 4096 } as const;

/**
 * Small shapes. Values that only matter when they are large in a real model are chosen so they bite
 * here: gemma2's attention soft-cap is 5 (real 50) and its window 6 (real 4096); gemma3's window 6
 * (real 512); llama3's rope_freqs rule uses an original context of 256 (real 8192) so half the
 * frequencies are rescaled at the positions a test reaches; phi3's original context is 64.
 */
export const SMALL_SHAPES: Readonly<Record<Family, FamilyShape>> = {
  llama3: { ...SMALL_BASE, nLayer: 3, nHead: 8, nHeadKv: 2, headDim: 32, ropeDim: 32, ropeBase: 10000, normEps: 1e-5, tied: true,
    llama3Rope: { factor: 8, low: 1, high: 4, origCtx: 256 } },
  qwen2: { ...SMALL_BASE, nLayer: 3, nHead: 8, nHeadKv: 2, headDim: 32, ropeDim: 32, ropeBase: 1e6, tied: true },
  // n_head * head_dim (512) != n_embd (256), as in Qwen3-0.6B (2048 vs 1024).
  qwen3: { ...SMALL_BASE, nLayer: 3, nHead: 4, nHeadKv: 2, headDim: 128, ropeDim: 128, ropeBase: 1e6, tied: true },
  // Layers 0, 2 slide, 1, 3 are global (llama.cpp's pattern 2).
  gemma2: { ...SMALL_BASE, nLayer: 4, nHead: 4, nHeadKv: 2, headDim: 128, ropeDim: 128, ropeBase: 10000, tied: true,
    slidingWindow: 6, attnSoftcap: 5, finalSoftcap: 30 },
  // Layers 0-4 slide, 5 is global (pattern 6): at least 6 layers.
  gemma3: { ...SMALL_BASE, nLayer: 6, nHead: 4, nHeadKv: 1, headDim: 64, ropeDim: 64, ropeBase: 1e6, tied: true, slidingWindow: 6 },
  // Partial rotary (24 of 32 dims, like Phi-4-mini's 0.75), LongRoPE factors, a window llama.cpp ignores.
  phi3: { ...SMALL_BASE, nLayer: 3, nHead: 8, nHeadKv: 4, headDim: 32, ropeDim: 24, ropeBase: 10000, normEps: 1e-5, tied: false,
    origCtx: 64, slidingWindow: 16 },
};

export type RealShapeName = 'llama3.2-1b' | 'qwen2.5-0.5b' | 'qwen3-0.6b' | 'gemma2-2b' | 'gemma3-1b' | 'phi3.5-mini';

/** Published configs (config.json of each model), as their GGUF conversions carry them. */
export const REAL_SHAPES: Readonly<Record<RealShapeName, { family: Family; shape: FamilyShape }>> = {
  'llama3.2-1b': { family: 'llama3', shape: { nEmbd: 2048, nFf: 8192, nLayer: 16, nHead: 32, nHeadKv: 8, headDim: 64, nVocab: 128256, ropeDim: 64,
    ropeBase: 500000, normEps: 1e-5, nCtxTrain: 131072, tied: true, llama3Rope: { factor: 32, low: 1, high: 4, origCtx: 8192 } } },
  'qwen2.5-0.5b': { family: 'qwen2', shape: { nEmbd: 896, nFf: 4864, nLayer: 24, nHead: 14, nHeadKv: 2, headDim: 64, nVocab: 151936, ropeDim: 64,
    ropeBase: 1e6, normEps: 1e-6, nCtxTrain: 32768, tied: true } },
  'qwen3-0.6b': { family: 'qwen3', shape: { nEmbd: 1024, nFf: 3072, nLayer: 28, nHead: 16, nHeadKv: 8, headDim: 128, nVocab: 151936, ropeDim: 128,
    ropeBase: 1e6, normEps: 1e-6, nCtxTrain: 40960, tied: true } },
  'gemma2-2b': { family: 'gemma2', shape: { nEmbd: 2304, nFf: 9216, nLayer: 26, nHead: 8, nHeadKv: 4, headDim: 256, nVocab: 256000, ropeDim: 256,
    ropeBase: 10000, normEps: 1e-6, nCtxTrain: 8192, tied: true, slidingWindow: 4096, attnSoftcap: 50, finalSoftcap: 30 } },
  'gemma3-1b': { family: 'gemma3', shape: { nEmbd: 1152, nFf: 6912, nLayer: 26, nHead: 4, nHeadKv: 1, headDim: 256, nVocab: 262144, ropeDim: 256,
    ropeBase: 1e6, normEps: 1e-6, nCtxTrain: 32768, tied: true, slidingWindow: 512 } },
  'phi3.5-mini': { family: 'phi3', shape: { nEmbd: 3072, nFf: 8192, nLayer: 32, nHead: 32, nHeadKv: 32, headDim: 96, nVocab: 32064, ropeDim: 96,
    ropeBase: 10000, normEps: 1e-5, nCtxTrain: 131072, tied: false, origCtx: 4096, slidingWindow: 262144 } },
};
