// GGUF → a transformers.js-compatible LlamaForCausalLM folder: onnx/model.onnx (f32) and, when
// asked, onnx/model_q4.onnx (MatMulNBits), config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json. buildExport() makes the files in memory (no fs); exportOnnx() writes them.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { configFromGguf } from '../engine/config.ts';
import { readVocab } from '../engine/tokenizer/vocab.ts';
import { readGgufHeader } from '../formats/gguf-reader.ts';
import type { GgufFile } from '../formats/gguf-types.ts';
import { fileRangeSource } from '../formats/range-source-node.ts';
import type { RangeSource } from '../formats/range-source.ts';
import { OnnxExportError } from './errors.ts';
import { DTYPE_OF, generationConfig, hfConfig, type JsonValue } from './hf-config.ts';
import { hfTokenizerConfig, hfTokenizerJson } from './hf-tokenizer.ts';
import type { WeightFormat } from './linear.ts';
import { buildLlamaGraph } from './llama-graph.ts';
import { encodeModel } from './proto.ts';
import { ggufWeights } from './weights.ts';

export interface ExportOptions {
  /** Which model files to write; the first is transformers.js's default dtype. Default ['f32']. */
  formats?: WeightFormat[];
  /** general.name etc. go into the ONNX metadata; this labels the source. */
  source?: string;
}

export interface ExportedFile {
  path: string;
  bytes: Uint8Array;
}

const json = (v: Record<string, JsonValue>): Uint8Array => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

export async function buildExport(file: GgufFile, source: RangeSource, opts: ExportOptions = {}): Promise<ExportedFile[]> {
  const formats = opts.formats ?? ['f32'];
  if (formats.length === 0 || new Set(formats).size !== formats.length) throw new OnnxExportError(`bad formats list [${formats}]`);
  const cfg = configFromGguf(file);
  const vocab = readVocab(file);
  const files: ExportedFile[] = [
    { path: 'config.json', bytes: json(hfConfig(cfg, vocab, formats[0]!)) },
    { path: 'generation_config.json', bytes: json(generationConfig(vocab)) },
    { path: 'tokenizer.json', bytes: json(hfTokenizerJson(vocab)) },
    { path: 'tokenizer_config.json', bytes: json(hfTokenizerConfig(vocab, cfg.nCtx)) },
  ];
  for (const format of formats) {
    const parts = await buildLlamaGraph(cfg, ggufWeights(file, source), { format });
    parts.metadata = { source: opts.source ?? '', weights: format, rope: 'rotate_half (Q/K rows un-permuted from GGUF)' };
    files.push({ path: DTYPE_OF[format].file, bytes: encodeModel(parts) });
  }
  return files;
}

/** Reads MODEL.gguf, writes the folder; returns the files written (paths relative to outDir). */
export async function exportOnnx(ggufPath: string, outDir: string, opts: ExportOptions = {}): Promise<ExportedFile[]> {
  const src = await fileRangeSource(ggufPath);
  try {
    const file = await readGgufHeader(src);
    const files = await buildExport(file, src, { source: ggufPath, ...opts });
    for (const f of files) {
      const dest = join(outDir, f.path);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, f.bytes);
    }
    return files;
  } finally {
    await src.close();
  }
}
