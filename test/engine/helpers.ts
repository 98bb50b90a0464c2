// Shared helpers for engine tests: load fixture models into a CPU backend, compare logits.
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import type { GgufFile } from '../../src/formats/gguf-types.ts';
import type { Backend } from '../../src/engine/backend.ts';
import { createCpuBackend, type CpuBackendOptions } from '../../src/engine/cpu/index.ts';
import { fixture, fixtureF32, fixtureJson } from '../formats/fixtures.ts';

export { fixture, fixtureF32, fixtureJson };

export interface RefJson {
  prompt: string;
  prompt_tokens: number[];
  input_tokens: number[];
  next_tokens: number[];
  sequence: number[];
  generated_tokens: number[];
  text: string;
  generated_text_only: string;
  teacher_forced?: { input_tokens: number[] };
  vs_f32?: { kl_mean: number; kl_max: number; top1_agreement: number; kl_per_position: number[] };
}

export function modelFile(name: string): { file: GgufFile; bytes: Uint8Array } {
  const bytes = fixture(`${name}.gguf`);
  return { file: parseGguf(bytes), bytes };
}

export async function cpuModel(name: string, opts: CpuBackendOptions = {}): Promise<Backend> {
  const { file, bytes } = modelFile(name);
  return createCpuBackend(file, bytesSource(bytes), opts);
}

export const ref = (name: string): RefJson => fixtureJson<RefJson>(`ref/${name}.json`);

/** Per row: max|a-b| / max|ref|; returns the worst row's value. */
export function maxRelRowError(got: Float32Array, want: Float32Array, rowLen: number): number {
  let worst = 0;
  for (let r = 0; r < want.length / rowLen; r++) {
    let d = 0;
    let m = 0;
    for (let i = r * rowLen; i < (r + 1) * rowLen; i++) {
      d = Math.max(d, Math.abs(got[i]! - want[i]!));
      m = Math.max(m, Math.abs(want[i]!));
    }
    worst = Math.max(worst, d / m);
  }
  return worst;
}

export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
