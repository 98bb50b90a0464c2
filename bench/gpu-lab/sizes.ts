// What the GPU lab measures at each size. 'full' is for the GPU machine (8 minutes in one call on
// an H200: real model shapes, 1 GiB yardsticks); 'small' is the same code on tiny shapes, cheap
// enough to run end to end on SwiftShader in CI.
import { REAL_SHAPES, type FamilyShape } from '../../src/engine/synthetic/families.ts';
import { DEFAULT_KV_MODE, KV_MODES, type KvMode } from '../../src/engine/kv/layout.ts';
import type { MatvecShape } from './matvec.ts';
import type { DecodeModel } from './decode.ts';

export type LabSize = 'small' | 'full';

export interface LabPlan {
  /** Overall time box (seconds) and each section's share. */
  totalS: number;
  sectionS: { bandwidth: number; matvec: number; overhead: number; decode: number };
  /** Yardstick buffer size (capped by the device's binding limit) and timed iterations. */
  copyBytes: number;
  copyIterations: number;
  matvecShapes: MatvecShape[];
  /** A timed matvec pass reads at least this many bytes (copies of the matrix rotate). */
  rotateBytes: number;
  matvecIterations: number;
  /** mm_q's threads per row (LANES) swept on one shape: the engine's choice checked on this device. */
  lanesSweep: { shape: MatvecShape; types: string[]; lanes: number[] };
  overheadDispatches: number;
  models: DecodeModel[];
  decodeTypes: string[];
  kvModes: KvMode[];
  /** Models (by name) the KV-mode runs use. */
  kvModels: string[];
  kvType: string;
  nCtx: number;
  positions: number[];
  decodeTokens: number;
  /** Untimed tokens before the timed ones (pipelines compile, caches fill). */
  warmupTokens: number;
}

const MiB = 2 ** 20;
const L1B = REAL_SHAPES['llama3.2-1b'].shape;

/** Meta-Llama-3-8B's config.json (not among the family shapes: only its size matters here). */
export const LLAMA3_8B: FamilyShape = {
  nEmbd: 4096, nFf: 14336, nLayer: 32, nHead: 32, nHeadKv: 8, headDim: 128, nVocab: 128256, ropeDim: 128,
  ropeBase: 500000, normEps: 1e-5, nCtxTrain: 8192, tied: false,
};

/** Every KV mode but the default, which the weight-type runs already use. */
const OTHER_KV = KV_MODES.filter((m) => m !== DEFAULT_KV_MODE);
const TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q8_0'];

export function labPlan(size: LabSize): LabPlan {
  if (size === 'full') {
    const E1 = L1B.nEmbd;
    return {
      totalS: 440,
      sectionS: { bandwidth: 40, matvec: 130, overhead: 20, decode: 240 },
      copyBytes: 1024 * MiB,
      copyIterations: 4,
      matvecShapes: [
        { label: 'llama3.2-1b attn_q/attn_output', rows: E1, cols: E1 },
        { label: 'llama3.2-1b ffn_gate/ffn_up', rows: L1B.nFf, cols: E1 },
        { label: 'llama3.2-1b ffn_down', rows: E1, cols: L1B.nFf },
        { label: 'llama3.2-1b head (tied token_embd)', rows: L1B.nVocab, cols: E1 },
        { label: 'llama3-8b attn_q/attn_output', rows: LLAMA3_8B.nEmbd, cols: LLAMA3_8B.nEmbd },
        { label: 'llama3-8b ffn_gate/ffn_up', rows: LLAMA3_8B.nFf, cols: LLAMA3_8B.nEmbd },
        { label: 'llama3-8b ffn_down', rows: LLAMA3_8B.nEmbd, cols: LLAMA3_8B.nFf },
      ],
      rotateBytes: 256 * MiB,
      matvecIterations: 16,
      lanesSweep: { shape: { label: 'llama3-8b ffn_gate/ffn_up', rows: LLAMA3_8B.nFf, cols: LLAMA3_8B.nEmbd }, types: ['Q2_K', 'Q4_K', 'Q8_0'], lanes: [64, 32, 16, 8, 4] },
      overheadDispatches: 4096,
      models: [
        { name: 'llama3.2-1b', family: 'llama3', shape: L1B },
        { name: 'llama3-8b', family: 'llama3', shape: LLAMA3_8B },
      ],
      decodeTypes: TYPES,
      kvModes: OTHER_KV,
      kvModels: ['llama3.2-1b', 'llama3-8b'],
      kvType: 'Q4_K',
      nCtx: 4096,
      positions: [64, 4000],
      decodeTokens: 16,
      warmupTokens: 2,
    };
  }
  const tiny = (nEmbd: number, nFf: number, headDim: number, tied: boolean): FamilyShape => ({
    nEmbd, nFf, nLayer: 2, nHead: nEmbd / headDim, nHeadKv: 2, headDim, nVocab: 1024, ropeDim: headDim,
    ropeBase: 500000, normEps: 1e-5, nCtxTrain: 4096, tied,
  });
  return {
    totalS: 240,
    sectionS: { bandwidth: 30, matvec: 60, overhead: 15, decode: 130 },
    copyBytes: 16 * MiB,
    copyIterations: 4,
    matvecShapes: [
      { label: 'small square', rows: 256, cols: 256 },
      { label: 'small up', rows: 512, cols: 256 },
      { label: 'small down', rows: 256, cols: 512 },
    ],
    rotateBytes: 0,
    matvecIterations: 4,
    lanesSweep: { shape: { label: 'small up', rows: 512, cols: 256 }, types: ['Q4_K'], lanes: [64, 4] },
    overheadDispatches: 256,
    models: [
      { name: 'llama3.2-1b-small', family: 'llama3', shape: tiny(256, 512, 32, true) },
      { name: 'llama3-8b-small', family: 'llama3', shape: tiny(512, 1024, 64, false) },
    ],
    decodeTypes: TYPES,
    kvModes: OTHER_KV,
    kvModels: ['llama3.2-1b-small'],
    kvType: 'Q4_K',
    nCtx: 256,
    positions: [8, 200],
    decodeTokens: 2,
    warmupTokens: 1,
  };
}
