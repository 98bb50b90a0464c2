// `tabshard generate --backend cpu --threads N` (run in-process): the count reaches the WASM
// backend (cpuPath in --json says it), the greedy tokens are the reference's at 1 and 2 threads,
// and a bad count is a usage error naming the flag.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as generate } from '../../src/cli/commands/generate.ts';
import { fixturesDir } from '../formats/fixtures.ts';
import { ref } from '../engine/helpers.ts';

const r = ref('stories260K-f32');
const model = `${fixturesDir}stories260K-f32.gguf`;

async function json(args: string[]): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  try {
    expect(await generate(args)).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

afterEach(() => vi.restoreAllMocks());

describe('generate --threads', () => {
  for (const threads of [1, 2]) {
    it(`--threads ${threads}: cpuPath says ${threads}, tokens are the reference's`, async () => {
      const g = await json(['--model', model, '--prompt', r.prompt, '--max-tokens', '12', '--backend', 'cpu', '--threads', String(threads), '--json']);
      expect(g.cpuPath).toBe(`WASM SIMD128, ${threads} thread${threads === 1 ? '' : 's'}`);
      expect(g.tokens).toEqual(r.generated_tokens.slice(0, 12));
    }, 60_000);
  }

  it('refuses 0, 1.5 and 65 threads as usage errors', async () => {
    for (const bad of ['0', '1.5', '65']) {
      const err = await generate(['--model', model, '--prompt', 'x', '--backend', 'cpu', '--threads', bad]).catch((e: unknown) => e);
      expect((err as Error).name, bad).toBe('UsageError');
      expect((err as Error).message).toMatch(/--threads/);
    }
  });
});
