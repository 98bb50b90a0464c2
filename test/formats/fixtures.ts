// Shared access to the ggml-made fixtures (see test/fixtures/FIXTURES.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const PAD_TYPES = ['q2_k', 'q3_k', 'q4_k', 'q6_k', 'q8_0'] as const;
export type PadType = (typeof PAD_TYPES)[number];
export const GGUF_FIXTURES = [
  'stories260K-f32', 'stories260K-pad256-f32', ...PAD_TYPES.map((t) => `stories260K-pad256-${t}`),
] as const;

const cache = new Map<string, Uint8Array>();

/** A fixture file's bytes (a fresh copy per call is not needed: callers must not mutate). */
export function fixture(rel: string): Uint8Array {
  let b = cache.get(rel);
  if (!b) {
    b = new Uint8Array(readFileSync(fixturesDir + rel));
    cache.set(rel, b);
  }
  return b;
}

export function fixtureF32(rel: string): Float32Array {
  const b = fixture(rel);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function fixtureJson<T>(rel: string): T {
  return JSON.parse(new TextDecoder().decode(fixture(rel))) as T;
}

export function rms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
}
