// Upload a llama model's tensors to the GPU, one tensor (or binding chunk) at a time, straight from
// a RangeSource: the JS heap holds at most one chunk, never the file. Matrices stay in their GGUF
// block layout; types without a GPU kernel (e.g. Q5_K) are dequantized on the CPU to F32 once.
import type { GgufFile, GgufTensorInfo } from '../../formats/gguf-types.ts';
import type { RangeSource } from '../../formats/range-source.ts';
import type { GpuRuntime } from '../../gpu/runtime.ts';
import { GPU_BLOCK_TYPES, uploadQuantTensor, type QuantTensor } from '../../gpu/kernels/quant-tensor.ts';
import { dequantize } from '../../quant/dequantize.ts';
import type { LlamaConfig } from '../backend.ts';
import { ModelTensorError } from '../errors.ts';

export interface LayerWeights {
  attnNorm: GPUBuffer;
  q: QuantTensor;
  k: QuantTensor;
  v: QuantTensor;
  o: QuantTensor;
  ffnNorm: GPUBuffer;
  gate: QuantTensor;
  up: QuantTensor;
  down: QuantTensor;
}

export interface ModelWeights {
  embed?: QuantTensor;
  outputNorm?: GPUBuffer;
  output?: QuantTensor;
  layers: Map<number, LayerWeights>;
  /** Tensors that had no GPU kernel for their type and were widened to F32. */
  widened: string[];
}

export interface LoadOptions {
  layerRange: readonly [number, number];
  embedding: boolean;
  head: boolean;
  maxBindingBytes?: number;
  signal?: AbortSignal;
  onTensor?: (name: string, bytes: number) => void;
}

function tensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new ModelTensorError(`tensor ${name} is missing from the model`);
  return t;
}

async function matrix(rt: GpuRuntime, src: RangeSource, t: GgufTensorInfo, widened: string[], o: LoadOptions): Promise<QuantTensor> {
  o.signal?.throwIfAborted();
  const [cols, rows] = [t.shape[0], t.shape[1] ?? 1];
  o.onTensor?.(t.name, t.byteSize);
  if (t.type in GPU_BLOCK_TYPES && (t.type > 1 || cols % 4 === 0)) {
    return uploadQuantTensor(rt, t.type, rows, cols, (off, len) => src.read(t.absoluteOffset + off, len), {
      label: t.name,
      maxBindingBytes: o.maxBindingBytes,
    });
  }
  // No GPU kernel for this type: dequantize on the CPU (throws a typed error for unknown types).
  widened.push(`${t.name} (${t.typeName})`);
  const f = dequantize(t.type, await src.read(t.absoluteOffset, t.byteSize), rows * cols);
  return uploadQuantTensor(rt, 0, rows, cols, (off, len) => new Uint8Array(f.buffer, off, len), { label: t.name, maxBindingBytes: o.maxBindingBytes });
}

async function vector(rt: GpuRuntime, src: RangeSource, t: GgufTensorInfo): Promise<GPUBuffer> {
  const n = t.nElements;
  const f = dequantize(t.type, await src.read(t.absoluteOffset, t.byteSize), n);
  return rt.pool.upload(f, 'weights', t.name);
}

export async function loadWeights(rt: GpuRuntime, file: GgufFile, src: RangeSource, cfg: LlamaConfig, o: LoadOptions): Promise<ModelWeights> {
  const widened: string[] = [];
  const w: ModelWeights = { layers: new Map(), widened };
  if (o.embedding) w.embed = await matrix(rt, src, tensor(file, 'token_embd.weight'), widened, o);
  for (let i = o.layerRange[0]; i < o.layerRange[1]; i++) {
    const n = (s: string) => tensor(file, `blk.${i}.${s}.weight`);
    w.layers.set(i, {
      attnNorm: await vector(rt, src, n('attn_norm')),
      q: await matrix(rt, src, n('attn_q'), widened, o),
      k: await matrix(rt, src, n('attn_k'), widened, o),
      v: await matrix(rt, src, n('attn_v'), widened, o),
      o: await matrix(rt, src, n('attn_output'), widened, o),
      ffnNorm: await vector(rt, src, n('ffn_norm')),
      gate: await matrix(rt, src, n('ffn_gate'), widened, o),
      up: await matrix(rt, src, n('ffn_up'), widened, o),
      down: await matrix(rt, src, n('ffn_down'), widened, o),
    });
  }
  if (o.head) {
    w.outputNorm = await vector(rt, src, tensor(file, 'output_norm.weight'));
    const out = cfg.tiedOutput ? 'token_embd.weight' : 'output.weight';
    // Tied head: reuse the embedding upload when this participant already holds it.
    w.output = cfg.tiedOutput && w.embed ? w.embed : await matrix(rt, src, tensor(file, out), widened, o);
  }
  return w;
}
