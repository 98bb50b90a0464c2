import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectGguf, type GgufInspection } from '../../src/formats/gguf-inspect.ts';
import { parseGguf, tensorBytesOf } from '../../src/formats/gguf-reader.ts';
import { dequantize } from '../../src/quant/dequantize.ts';
import { fixture, fixturesDir, GGUF_FIXTURES, repoRoot } from './fixtures.ts';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [join(repoRoot, 'bin/tabshard.js'), ...args], { cwd: repoRoot });
const tmp = mkdtempSync(join(tmpdir(), 'tabshard-gguf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function checkInspection(name: string, j: GgufInspection): void {
  expect(j.version).toBe(3);
  expect(j.tensors).toHaveLength(47);
  const by = new Map(j.tensors.map((t) => [t.name, t]));
  const padded = name.includes('pad256');
  const quantized = !name.endsWith('f32');
  expect(by.get('token_embd.weight')!.shape).toEqual([padded ? 256 : 64, 512]);
  expect(by.get('blk.0.attn_output.weight')!.type).toBe(quantized ? 'q8_0' : 'f32');
  for (const t of j.tensors) if (t.name.includes('norm')) expect(t.type, t.name).toBe('f32');
  expect(j.metadata['general.architecture']).toEqual({ type: 'string', value: 'llama' });
  expect(j.metadata['llama.embedding_length']!.value).toBe(padded ? 256 : 64);
  // Large arrays are summarised, not printed whole.
  expect(j.metadata['tokenizer.ggml.tokens']!.value).toMatchObject({ type: 'array', itemType: 'string', length: 512 });
  expect((j.metadata['tokenizer.ggml.tokens']!.value as { first: string[] }).first.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
  const last = j.tensors.at(-1)!;
  expect(last.offset + last.bytes).toBe(j.fileSize);
}

describe('gguf inspect', () => {
  for (const name of GGUF_FIXTURES) {
    it(`library: ${name}`, () => checkInspection(name, inspectGguf(parseGguf(fixture(`${name}.gguf`)))));
  }

  it('CLI prints the same JSON as the library for every fixture', async () => {
    await Promise.all(GGUF_FIXTURES.map(async (name) => {
      const { stdout } = await cli('gguf', 'inspect', join(fixturesDir, `${name}.gguf`));
      const j = JSON.parse(stdout) as GgufInspection;
      checkInspection(name, j);
      expect(j).toEqual(JSON.parse(JSON.stringify(inspectGguf(parseGguf(fixture(`${name}.gguf`))))));
    }));
  });

  it('CLI fails with GgufFormatError on a non-GGUF file', async () => {
    await expect(cli('gguf', 'inspect', join(fixturesDir, 'FIXTURES.md'))).rejects.toMatchObject({
      code: 1, stderr: expect.stringContaining('GgufFormatError'),
    });
  });
});

describe('gguf dump', () => {
  it('writes the dequantized tensor as little-endian f32', async () => {
    const file = join(fixturesDir, 'stories260K-pad256-q3_k.gguf');
    const out = join(tmp, 'attn_q.f32');
    await cli('gguf', 'dump', file, 'blk.1.attn_q.weight', '--out', out);
    const bytes = fixture('stories260K-pad256-q3_k.gguf');
    const t = parseGguf(bytes).tensors.find((x) => x.name === 'blk.1.attn_q.weight')!;
    const want = dequantize(t.type, tensorBytesOf(bytes, t), t.nElements);
    const got = readFileSync(out);
    expect(got.length).toBe(want.length * 4);
    expect(new Uint8Array(got)).toEqual(new Uint8Array(want.buffer));
  });

  it('reports a missing tensor', async () => {
    await expect(cli('gguf', 'dump', join(fixturesDir, 'stories260K-f32.gguf'), 'nope', '--out', join(tmp, 'x')))
      .rejects.toMatchObject({ code: 1 });
  });
});
