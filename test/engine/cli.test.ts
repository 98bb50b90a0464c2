// The engine's CLI commands, run in-process on the fixtures (CPU backend).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as convert } from '../../src/cli/commands/convert-llama2c.ts';
import { run as generate } from '../../src/cli/commands/generate.ts';
import { run as kld } from '../../src/cli/commands/kld.ts';
import { run as perplexity } from '../../src/cli/commands/perplexity.ts';
import { configFromGguf } from '../../src/engine/config.ts';
import { DEFAULT_KV_MODE, kvLayoutAt, resolveKvLayout, type KvMode } from '../../src/engine/kv/layout.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { fixturesDir } from '../formats/fixtures.ts';
import { ref } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabshard-engine-cli-'));
const r = ref('stories260K-f32');

async function jsonOf(fn: () => Promise<number>): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  try {
    expect(await fn()).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

afterEach(() => vi.restoreAllMocks());

describe('engine CLI commands', () => {
  const gguf = join(dir, 'stories.gguf');

  it('convert-llama2c then generate --json reproduces the reference continuation', async () => {
    const c = await jsonOf(() => convert([`${fixturesDir}llama2c/stories260K.bin`, `${fixturesDir}llama2c/tok512.bin`, gguf]));
    expect(c.bytes).toBe(readFileSync(`${fixturesDir}stories260K-f32.gguf`).length);
    const g = await jsonOf(() => generate(['--model', gguf, '--prompt', r.prompt, '--max-tokens', '20', '--backend', 'cpu', '--json']));
    expect(g.tokens).toEqual(r.generated_tokens.slice(0, 20));
    expect(g.backend).toBe('cpu');
    expect(g.promptTokens).toBe(5);
    expect(g.memory).toMatchObject({ weights: expect.any(Number), kv: expect.any(Number), scratch: expect.any(Number) });
  });

  it('perplexity and kld print JSON', async () => {
    const text = join(dir, 'text.txt');
    writeFileSync(text, `${r.text} ${r.text} ${r.text}`);
    const p = await jsonOf(() => perplexity(['--model', `${fixturesDir}stories260K-f32.gguf`, '--text', text, '--ctx', '64', '--backend', 'cpu']));
    expect(p.chunks).toBeGreaterThanOrEqual(2);
    expect(p.ppl as number).toBeGreaterThan(1);
    const k = await jsonOf(() => kld(['--model', `${fixturesDir}stories260K-pad256-q8_0.gguf`, '--ref', `${fixturesDir}stories260K-pad256-f32.gguf`,
      '--text', text, '--ctx', '64', '--backend', 'cpu']));
    expect(k.klMean as number).toBeGreaterThan(0);
    expect(k.klMean as number).toBeLessThan(0.01);
    expect(k.pplRef).toBeCloseTo(p.ppl as number, 4);
  });

  it('generate --backend cpu --kv MODE --json: the CPU cache is in that mode and kvBytes is what it holds', async () => {
    const model = `${fixturesDir}stories260K-f32.gguf`;
    const file = parseGguf(readFileSync(model));
    const run = (kv: string[]) => jsonOf(() => generate(['--model', model, '--prompt', r.prompt, '--max-tokens', '20', '--backend', 'cpu', ...kv, '--json']));
    const out = new Map<string, Record<string, unknown>>();
    for (const mode of ['f16', 'q2']) out.set(mode, await run(['--kv', mode]));
    out.set('default', await run([]));
    for (const [mode, g] of out) {
      const want = mode === 'default' ? DEFAULT_KV_MODE : mode;
      expect(g.backend).toBe('cpu');
      expect(g.kv).toBe(want);
      // 25 positions: each of the 5 layers holds the layout for 64 positions, 4 bytes a word.
      const L = kvLayoutAt(resolveKvLayout({ mode: want as KvMode }, configFromGguf(file)), 64);
      expect(g.kvBytes).toBe(5 * 4 * (L.k.words + L.v.words));
      expect((g.memory as { kv: number }).kv).toBe(g.kvBytes);
    }
    // At 64 positions half of q2's cache is its 32-position f16 window (long contexts: test/kv/cpu-engine.test.ts).
    expect(out.get('q2')!.kvBytes as number).toBeLessThan(0.6 * (out.get('f16')!.kvBytes as number));
    // q8 (the default) keeps the reference continuation on this fixture.
    expect(out.get('default')!.tokens).toEqual(r.generated_tokens.slice(0, 20));
    await expect(generate(['--model', model, '--prompt', 'x', '--backend', 'cpu', '--kv', 'q5'])).rejects.toMatchObject({ name: 'RangeError' });
  });

  it('perplexity --backend cpu --kv MODE: batches after the first read the cache in that mode', async () => {
    const text = join(dir, 'text-kv.txt');
    writeFileSync(text, `${r.text} ${r.text}`);
    const model = `${fixturesDir}stories260K-f32.gguf`;
    const ppl = async (extra: string[]) => (await jsonOf(() => perplexity(['--model', model, '--text', text, '--ctx', '64', '--backend', 'cpu', ...extra]))).ppl as number;
    const whole = await ppl(['--kv', 'q2']); // one batch per chunk: the cache is written, never read
    const f32 = await ppl(['--kv', 'f32', '--batch', '8']);
    const q2 = await ppl(['--kv', 'q2', '--batch', '8']);
    expect(f32).toBeCloseTo(whole, 5);
    expect(Math.abs(q2 - f32)).toBeGreaterThan(1e-3);
  });

  it('reports bad flags as UsageError', async () => {
    await expect(generate(['--model', gguf])).rejects.toMatchObject({ name: 'UsageError' });
    await expect(generate(['--model', gguf, '--prompt', 'x', '--backend', 'tpu'])).rejects.toMatchObject({ name: 'UsageError' });
  });
});
