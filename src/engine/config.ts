// LlamaConfig from GGUF metadata (`<arch>.*` keys), with the defaults llama.cpp applies when a key
// is absent. The families differ only in FamilyOptions (family.ts); any other architecture is refused.
import { findTensor } from '../formats/gguf-reader.ts';
import { metaArray, metaNumber, metaString } from '../formats/gguf-meta.ts';
import type { GgufFile } from '../formats/gguf-types.ts';
import type { LlamaConfig } from './backend.ts';
import { ModelTensorError, UnsupportedModelError } from './errors.ts';
import { familyFromGguf, SUPPORTED_ARCHITECTURES } from './family.ts';
import { checkKnownTensors } from './weights.ts';

export { SUPPORTED_ARCHITECTURES };

function required(file: GgufFile, key: string, arch: string): number {
  const v = metaNumber(file, key);
  if (v === undefined) throw new UnsupportedModelError(arch, `metadata '${key}' is missing`);
  return v;
}

/** The multiplier applied to positions before RoPE (1 / linear scaling factor). */
function ropeScaleOf(file: GgufFile, arch: string): number {
  const type = metaString(file, `${arch}.rope.scaling.type`);
  const factor = metaNumber(file, `${arch}.rope.scaling.factor`);
  if (type === undefined || type === 'none') {
    // Older files carry only the factor, meaning linear scaling.
    return type === undefined && factor !== undefined && factor > 0 ? 1 / factor : 1;
  }
  if (type === 'linear') return factor !== undefined && factor > 0 ? 1 / factor : 1;
  // LongRoPE (phi3) scales by its factor tensors, not by the position (family.ts).
  if (type === 'longrope') return 1;
  throw new UnsupportedModelError(arch, `rope scaling type '${type}' is not supported (only linear)`);
}

export function configFromGguf(file: GgufFile): LlamaConfig {
  const arch = metaString(file, 'general.architecture');
  if (arch === undefined || !SUPPORTED_ARCHITECTURES.includes(arch)) throw new UnsupportedModelError(arch);
  const k = (s: string): string => `${arch}.${s}`;
  const nLayer = required(file, k('block_count'), arch);
  const nEmbd = required(file, k('embedding_length'), arch);
  const nFf = required(file, k('feed_forward_length'), arch);
  const nHead = required(file, k('attention.head_count'), arch);
  const nHeadKv = metaNumber(file, k('attention.head_count_kv')) ?? nHead;
  if (nHead <= 0 || nHeadKv <= 0 || nHead % nHeadKv !== 0) {
    throw new UnsupportedModelError(arch, `head_count ${nHead} is not a multiple of head_count_kv ${nHeadKv}`);
  }
  const headDimK = metaNumber(file, k('attention.key_length')) ?? nEmbd / nHead;
  const headDimV = metaNumber(file, k('attention.value_length')) ?? nEmbd / nHead;
  if (!Number.isInteger(headDimK) || !Number.isInteger(headDimV)) {
    throw new UnsupportedModelError(arch, `head dims ${headDimK}/${headDimV} are not integers`);
  }
  const ropeDim = metaNumber(file, k('rope.dimension_count')) ?? headDimK;
  if (ropeDim % 2 !== 0 || ropeDim > headDimK) throw new UnsupportedModelError(arch, `rope dimension ${ropeDim} is odd or exceeds the head dim ${headDimK}`);
  const embd = findTensor(file, 'token_embd.weight');
  if (!embd) throw new ModelTensorError(`model has no token_embd.weight`);
  const nVocab = embd.shape[1] ?? metaArray(file, 'tokenizer.ggml.tokens')?.values.length ?? 0;
  const cfg: LlamaConfig = {
    arch,
    nLayer,
    nEmbd,
    nFf,
    nHead,
    nHeadKv,
    headDimK,
    headDimV,
    nVocab,
    // llama.cpp's fallback when a file has no context length.
    nCtx: metaNumber(file, k('context_length')) ?? 2048,
    ropeDim,
    ropeBase: metaNumber(file, k('rope.freq_base')) ?? 10000,
    ropeScale: ropeScaleOf(file, arch),
    // Every llama GGUF carries it; 1e-5 is the llama-2 value, used only when a file omits it.
    normEps: metaNumber(file, k('attention.layer_norm_rms_epsilon')) ?? 1e-5,
    tiedOutput: findTensor(file, 'output.weight') === undefined,
    family: familyFromGguf(file, { arch, nLayer, nEmbd, nHead, headDimK }),
  };
  checkKnownTensors(file, cfg);
  return cfg;
}
