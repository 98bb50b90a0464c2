// Per-family options of the one transformer graph, read from GGUF metadata and tensor names the
// way llama.cpp's loader reads them (llama-model.cpp: load_hparams / load_tensors, and the graph
// builders of each architecture). Nothing is guessed: a family's required tensor that is absent is
// reported by weights.ts with its name.
import { findTensor } from '../formats/gguf-reader.ts';
import { metaNumber } from '../formats/gguf-meta.ts';
import type { GgufFile } from '../formats/gguf-types.ts';
import type { FamilyOptions } from './backend.ts';
import { UnsupportedModelError } from './errors.ts';

export const SUPPORTED_ARCHITECTURES: readonly string[] = ['llama', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'phi3'];

export interface FamilyInputs {
  arch: string;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  headDimK: number;
}

/** Layers with a sliding window, llama.cpp's set_swa_pattern(n): layer i is local unless i % n == n - 1. */
function swaPattern(nLayer: number, n: number): boolean[] {
  return Array.from({ length: nLayer }, (_, i) => i % n < n - 1);
}

export function familyFromGguf(file: GgufFile, c: FamilyInputs): FamilyOptions {
  const { arch } = c;
  const k = (s: string): string => `${arch}.${s}`;
  const has = (name: string): boolean => findTensor(file, name) !== undefined;
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  const f: FamilyOptions = {
    ropeNeox: arch !== 'llama',
    // llama_model::get_rope_factors: rope_freqs whenever present, else LongRoPE's pair if present.
    ropeFactors: has('rope_freqs.weight') ? 'rope_freqs' : has('rope_factors_long.weight') || has('rope_factors_short.weight') ? 'longrope' : undefined,
    ropeOrigCtx: metaNumber(file, k('rope.scaling.original_context_length')) ?? metaNumber(file, k('context_length')) ?? 0,
    // llama-context multiplies every rope's attn_factor by this (cos and sin, so q·k by its square).
    ropeAttnFactor: metaNumber(file, k('rope.scaling.attn_factor')) ?? 1,
    // llama.cpp loads q/k/v/o biases when present for llama and requires q/k/v ones for qwen2.
    qkvBias: arch === 'qwen2' || (arch === 'llama' && has('blk.0.attn_q.bias')),
    oBias: arch === 'llama' && has('blk.0.attn_output.bias'),
    qkNorm: arch === 'qwen3' || arch === 'gemma3',
    postNorms: gemma,
    fusedQkv: arch === 'phi3' && has('blk.0.attn_qkv.weight'),
    fusedGateUp: arch === 'phi3',
    ffnAct: gemma ? 'gelu' : 'silu',
    embedScale: gemma ? Math.sqrt(c.nEmbd) : 1,
    attnScale: 1 / Math.sqrt(c.headDimK),
    attnSoftcap: 0,
    finalSoftcap: 0,
    swaWindow: 0,
    swaLayers: new Array<boolean>(c.nLayer).fill(false),
    ropeBaseSwa: 0,
    ropeScaleSwa: 1,
    outputBias: (arch === 'qwen2' || arch === 'phi3') && has('output.bias'),
  };
  if (gemma) {
    // The 27B models scale queries by 1/sqrt(n_embd/n_head) (llama.cpp picks them by layer count).
    const is27b = (arch === 'gemma2' && c.nLayer === 46) || (arch === 'gemma3' && c.nLayer === 62);
    if (is27b) f.attnScale = 1 / Math.sqrt(c.nEmbd / c.nHead);
  }
  if (arch === 'gemma2') {
    // llama.cpp's defaults (window 4096, caps 50 and 30, pattern 2) apply when the keys are absent:
    // gemma2 always soft-caps and always has sliding layers.
    f.attnSoftcap = metaNumber(file, k('attn_logit_softcapping')) ?? 50;
    f.finalSoftcap = metaNumber(file, k('final_logit_softcapping')) ?? 30;
    f.swaWindow = metaNumber(file, k('attention.sliding_window')) ?? 4096;
    f.swaLayers = swaPattern(c.nLayer, metaNumber(file, k('attention.sliding_window_pattern')) ?? 2);
    f.ropeBaseSwa = metaNumber(file, k('rope.freq_base_swa')) ?? 0;
  }
  if (arch === 'gemma3') {
    // No window key (or 0): every layer is global. Local layers use their own RoPE base, 10000
    // unless the file says otherwise, and never the linear scaling of the global layers.
    const win = metaNumber(file, k('attention.sliding_window')) ?? 0;
    if (win > 0) {
      f.swaWindow = win;
      f.swaLayers = swaPattern(c.nLayer, metaNumber(file, k('attention.sliding_window_pattern')) ?? 6);
      f.ropeBaseSwa = metaNumber(file, k('rope.freq_base_swa')) ?? 10000;
      f.ropeScaleSwa = 1;
    }
    f.finalSoftcap = metaNumber(file, k('final_logit_softcapping')) ?? 0;
  }
  if (f.ropeFactors === 'longrope' && !(has('rope_factors_long.weight') && has('rope_factors_short.weight'))) {
    throw new UnsupportedModelError(arch, 'LongRoPE needs both rope_factors_long and rope_factors_short');
  }
  // phi3's sliding_window key is ignored, as llama.cpp does ("Phi SWA is currently disabled").
  return f;
}

/** The RoPE base/scale of layer `l` (gemma3's local layers use their own). */
export function ropeParams(cfg: { ropeBase: number; ropeScale: number; family: FamilyOptions }, l: number): { base: number; scale: number } {
  const f = cfg.family;
  if (f.ropeBaseSwa > 0 && f.swaLayers[l]) return { base: f.ropeBaseSwa, scale: f.ropeScaleSwa };
  return { base: cfg.ropeBase, scale: cfg.ropeScale };
}

/** The frequency-factor tensor this context uses, if any (LongRoPE: long above the original context). */
export function ropeFactorTensor(cfg: { nCtx: number; family: FamilyOptions }): string | undefined {
  const f = cfg.family;
  if (f.ropeFactors === 'rope_freqs') return 'rope_freqs.weight';
  if (f.ropeFactors === 'longrope') return cfg.nCtx > f.ropeOrigCtx ? 'rope_factors_long.weight' : 'rope_factors_short.weight';
  return undefined;
}

/** Sliding window of layer `l` in positions, 0 for a global layer. */
export function layerWindow(cfg: { family: FamilyOptions }, l: number): number {
  return cfg.family.swaLayers[l] ? cfg.family.swaWindow : 0;
}
