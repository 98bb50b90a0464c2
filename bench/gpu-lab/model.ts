// A synthetic model of real size that never exists in memory: the metadata and the non-layer
// vectors come from src/engine/synthetic (a proxy file of the same family and shape with no layers
// and a small vocabulary), the tensor list from the engine's own per-family roles and shapes, and
// the weight bytes are produced on demand for each range the loader reads (TemplateBank). The GPU
// loader streams a RangeSource tensor by tensor, so host memory stays at one binding chunk even for
// an 8B model.
import { encodeGgufHeader, type GgufWriteTensor } from '../../src/formats/gguf-writer.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { GgufValueType, type GgufKV, type GgufTensorInfo } from '../../src/formats/gguf-types.ts';
import type { RangeSource } from '../../src/formats/range-source.ts';
import { configFromGguf } from '../../src/engine/config.ts';
import { expectedShape, layerRoles, layerTensorName } from '../../src/engine/weights.ts';
import { syntheticFamilyGguf, type Family, type FamilyShape } from '../../src/engine/synthetic/families.ts';
import { syntheticVocabMetadata } from '../../src/engine/synthetic/vocab.ts';
import { GgmlType, ggmlType } from '../../src/quant/ggml-types.ts';
import { quantizedMetadata, typeForRow } from '../../src/quant/quantize-gguf.ts';
import { TemplateBank } from './tensor-bytes.ts';

/** Vocabulary of the proxy file (the real one is written into the metadata afterwards). */
const PROXY_VOCAB = 512;
/** Projection gain as the synthetic families use it (weights ~ N(0, GAIN^2 / cols)). */
const GAIN = 1.4;
const EMBED_STD = 0.2;

interface Planned {
  name: string;
  shape: number[];
  type: number;
  /** F32 vectors: their values. Matrices: undefined (template rows). */
  values?: Float32Array;
  std: number;
}

export interface StreamedModel {
  source: RangeSource;
  /** Bytes of the whole file it stands for. */
  fileBytes: number;
  tensors: { name: string; type: number; bytes: number }[];
  /** Weight bytes one decode token must read at least: every layer matrix, the head, one embedding row. */
  floorBytesPerToken: number;
  /** Quantizer-less types that got random blocks. */
  randomTypes: string[];
}

// Memoized: the weight-type and KV-mode runs of one model share them (a 128k vocabulary takes ~1 s).
const proxies = new Map<string, { bytes: Uint8Array; file: ReturnType<typeof parseGguf> }>();
const vocabs = new Map<number, GgufKV[]>();

function proxy(family: Family, shape: FamilyShape) {
  const key = JSON.stringify([family, { ...shape, nLayer: 0, nVocab: 0 }]);
  let p = proxies.get(key);
  if (!p) {
    const bytes = syntheticFamilyGguf(family, { shape, nLayer: 0, nVocab: PROXY_VOCAB });
    p = { bytes, file: parseGguf(bytes) };
    proxies.set(key, p);
  }
  return p;
}

function vocab(n: number): GgufKV[] {
  let v = vocabs.get(n);
  if (!v) vocabs.set(n, (v = syntheticVocabMetadata(n)));
  return v;
}

/** The model's metadata: the proxy's, with the real block count and vocabulary, and `type` as file type. */
function metadataFor(meta: Iterable<GgufKV>, arch: string, shape: FamilyShape, type: number): GgufKV[] {
  const out: GgufKV[] = [];
  for (const kv of meta) {
    if (kv.key.startsWith('tokenizer.ggml.')) continue;
    out.push(kv.key === `${arch}.block_count` ? { key: kv.key, type: GgufValueType.U32, value: shape.nLayer } : kv);
  }
  return quantizedMetadata([...out, ...vocab(shape.nVocab)], type);
}

function plan(family: Family, shape: FamilyShape, type: number): { meta: GgufKV[]; tensors: Planned[] } {
  const p = proxy(family, shape);
  const arch = String(p.file.metadata.get('general.architecture')?.value);
  const cfg = { ...configFromGguf(p.file), nLayer: shape.nLayer, nVocab: shape.nVocab };
  const vectorOf = (t: GgufTensorInfo) => new Float32Array(p.bytes.slice(t.absoluteOffset, t.absoluteOffset + t.byteSize).buffer);
  const matrix = (name: string, s: number[], std: number): Planned => ({ name, shape: s, type: typeForRow(type, s[0]!), std });
  const tensors: Planned[] = [];
  const globals = p.file.tensors;
  // Globals before the layers, as the converter writes them (token_embd, rope factors), then the
  // layers, then the rest (output_norm, output).
  const global = (t: GgufTensorInfo): Planned => {
    const role = t.name.replace(/\.weight$/, '') as 'token_embd' | 'output';
    if (t.shape.length === 2) return matrix(t.name, expectedShape(cfg, role), role === 'token_embd' ? EMBED_STD : 1 / Math.sqrt(cfg.nEmbd));
    return { name: t.name, shape: [...t.shape], type: GgmlType.F32, values: vectorOf(t), std: 0 };
  };
  const split = globals.findIndex((t) => t.name === 'output_norm.weight');
  for (const t of globals.slice(0, split)) tensors.push(global(t));
  for (let l = 0; l < shape.nLayer; l++) {
    for (const role of layerRoles(cfg)) {
      const s = expectedShape(cfg, role);
      const name = layerTensorName(l, role);
      if (s.length === 2) tensors.push(matrix(name, s, GAIN / Math.sqrt(s[0]!)));
      else tensors.push({ name, shape: s, type: GgmlType.F32, values: new Float32Array(s[0]!).fill(1), std: 0 });
    }
  }
  for (const t of globals.slice(split)) tensors.push(global(t));
  return { meta: metadataFor(p.file.metadata.values(), arch, shape, type), tensors };
}

function byteSize(t: Planned): number {
  const info = ggmlType(t.type);
  const n = t.shape.reduce((a, b) => a * b, 1);
  return (n / info.blockSize) * info.bytesPerBlock;
}

/** The family's model at `shape` with its matrices in `type`, served range by range. */
export function streamedModel(family: Family, shape: FamilyShape, type: number, seed = 1): StreamedModel {
  const { meta, tensors } = plan(family, shape, type);
  const sizes = tensors.map(byteSize);
  // encodeGgufHeader checks each tensor's byte length; one shared zero buffer gives it views of the
  // right lengths without allocating the model (calloc'd pages are never touched).
  const zeros = new Uint8Array(Math.max(...sizes));
  const write: GgufWriteTensor[] = tensors.map((t, i) => ({ name: t.name, shape: t.shape, type: t.type, data: zeros.subarray(0, sizes[i]) }));
  const layout = encodeGgufHeader({ metadata: meta, tensors: write });
  const bank = new TemplateBank(seed);
  const starts = layout.offsets.map((o) => layout.dataOffset + o);

  const fillTensor = (i: number, from: number, len: number, out: Uint8Array, at: number) => {
    const t = tensors[i]!;
    if (t.values) {
      const b = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
      out.set(b.subarray(from, from + len), at);
    } else bank.fill({ type: t.type, cols: t.shape[0]!, std: t.std }, i * 7, from, len, out, at);
  };

  const source: RangeSource = {
    size: layout.totalSize,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > layout.totalSize) throw new RangeError(`read(${offset}, ${length}) outside 0..${layout.totalSize}`);
      const out = new Uint8Array(length); // zeros: the alignment padding
      const end = offset + length;
      if (offset < layout.dataOffset) out.set(layout.header.subarray(offset, Math.min(end, layout.dataOffset)), 0);
      // Tensors are in file order: find the first that ends after `offset`.
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid]! + sizes[mid]! <= offset) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < starts.length && starts[i]! < end; i++) {
        const a = Math.max(offset, starts[i]!);
        const b = Math.min(end, starts[i]! + sizes[i]!);
        if (b > a) fillTensor(i, a - starts[i]!, b - a, out, a - offset);
      }
      return out;
    },
  };

  const tied = !tensors.some((t) => t.name === 'output.weight');
  const embedIdx = tensors.findIndex((t) => t.name === 'token_embd.weight');
  const embedRow = sizes[embedIdx]! / shape.nVocab;
  // A tied head reads token_embd in full (as the head) besides the one embedding row.
  const floor = tensors.reduce((n, t, i) => (t.values || (!tied && i === embedIdx) ? n : n + sizes[i]!), 0) + embedRow;
  // Touch every template now so `randomTypes` is complete and the first read is not slower.
  tensors.forEach((t) => t.values || bank.template({ type: t.type, cols: t.shape[0]!, std: t.std }));
  return {
    source,
    fileBytes: layout.totalSize,
    tensors: tensors.map((t, i) => ({ name: t.name, type: t.type, bytes: sizes[i]! })),
    floorBytesPerToken: floor,
    randomTypes: [...bank.randomTypes],
  };
}
