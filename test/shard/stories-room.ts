// What the room tests share: the f32 demo fixture, its costs, the reference greedy text, and a
// cleanup list emptied (last first) after each test.
import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { modelCosts } from '../../src/shard/costs.ts';

export const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-f32.gguf'));
export const file = parseGguf(bytes);
export const src = bytesSource(bytes);
export const costs = modelCosts(file, { nCtx: 512, kvBytesPerElement: 4 });
export const ref = JSON.parse(readFileSync('test/fixtures/ref/stories260K-f32.json', 'utf8')) as { prompt: string; generated_tokens: number[]; generated_text_only: string };
export const tok = tokenizerFromGguf(file);
export const N = 24;
export const cleanup: (() => void)[] = [];
afterEach(() => { for (const f of cleanup.splice(0).reverse()) f(); });
