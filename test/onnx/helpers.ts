// Shared by the onnx tests: export the stories260K fixture into a fresh temp folder, run an exported
// decoder greedily with onnxruntime-node (our own loop, independent of transformers.js).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx, type ExportedFile } from '../../src/onnx/export.ts';
import type { WeightFormat } from '../../src/onnx/linear.ts';
import { fixturesDir } from '../formats/fixtures.ts';

export const GGUF = join(fixturesDir, 'stories260K-f32.gguf');
export const REF = 'stories260K-f32';

export interface Exported {
  dir: string;
  files: ExportedFile[];
  cleanup(): void;
}

export async function exportFixture(formats: WeightFormat[] = ['f32']): Promise<Exported> {
  const dir = mkdtempSync(join(tmpdir(), 'tabshard-onnx-'));
  const files = await exportOnnx(GGUF, dir, { formats });
  return { dir, files, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// onnxruntime-node is CommonJS with a native addon; its types are those of onnxruntime-common.
type Ort = typeof import('onnxruntime-node');
export const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
export type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
type OrtTensor = InstanceType<Ort['Tensor']>;

export interface Decoder {
  /** Feeds tokens at the current position; returns logits [n][vocab] of those tokens. */
  step(tokens: number[]): Promise<Float32Array>;
}

const i64 = (xs: number[]): OrtTensor => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), [1, xs.length]);

export function decoder(session: Session, nLayer: number, nKv: number, headDim: number): Decoder {
  let past: Record<string, OrtTensor> = {};
  for (let i = 0; i < nLayer; i++) {
    for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, nKv, 0, headDim]);
  }
  let pos = 0;
  return {
    async step(tokens) {
      const positions = tokens.map((_, i) => pos + i);
      const feeds = {
        input_ids: i64(tokens),
        attention_mask: i64(Array(pos + tokens.length).fill(1)),
        position_ids: i64(positions),
        ...past,
      };
      const out = await session.run(feeds);
      const next: Record<string, OrtTensor> = {};
      for (const [k, v] of Object.entries(out)) if (k.startsWith('present.')) next[k.replace('present.', 'past_key_values.')] = v;
      past = next;
      pos += tokens.length;
      return out.logits!.data as Float32Array;
    },
  };
}

export function argmaxRow(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[row * vocab + i]! > logits[row * vocab + best]!) best = i;
  return best;
}

/** Greedy continuation: prefill the prompt, then one token per step. */
export async function greedy(session: Session, prompt: number[], n: number, shape: { nLayer: number; nKv: number; headDim: number; vocab: number }): Promise<number[]> {
  const d = decoder(session, shape.nLayer, shape.nKv, shape.headDim);
  let logits = await d.step(prompt);
  const out: number[] = [];
  let rows = prompt.length;
  for (let i = 0; i < n; i++) {
    const t = argmaxRow(logits, rows - 1, shape.vocab);
    out.push(t);
    logits = await d.step([t]);
    rows = 1;
  }
  return out;
}
