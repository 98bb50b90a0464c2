// `tabshard tokenize FILE.gguf (--text T | --file F | --jsonl)`: token ids as the model's tokenizer
// gives them. Only the header is read, so a vocab-only GGUF (llama.cpp's models/ggml-vocab-*.gguf)
// works like a full model. Defaults are llama.cpp's llama-tokenize with add_special and
// parse_special off: no BOS unless --bos, control tokens written in the text only with --special.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parse, UsageError } from '../args.ts';
import { readGgufHeader } from '../../formats/gguf-reader.ts';
import { fileRangeSource } from '../../formats/range-source-node.ts';
import { tokenizerFromGguf, type Tokenizer } from '../../engine/tokenizer/index.ts';

export const summary = 'print the token ids of a text (or of each JSON string line on stdin) for a GGUF file\'s tokenizer';

export const usage = 'tabshard tokenize FILE.gguf (--text T | --file F | --jsonl) [--bos] [--special] [--json]\n'
  + '  --jsonl: one JSON string per stdin line in, one {"tokens": [...]} per line out\n'
  + '  --bos: prepend BOS; --special: parse control tokens (<|im_end|>, ...) written in the text\n'
  + '  --json: {"tokens": [...], "count": N, "warnings": [...]} instead of space-separated ids';

export interface Io { stdin: Readable; stdout: Writable; stderr: Writable }

async function loadTokenizer(file: string): Promise<Tokenizer> {
  const src = await fileRangeSource(file);
  try {
    return tokenizerFromGguf(await readGgufHeader(src));
  } finally {
    await src.close();
  }
}

async function jsonl(encode: (s: string) => number[], io: Io): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: io.stdin, crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    let text: unknown;
    try { text = JSON.parse(line); } catch { text = undefined; }
    if (typeof text !== 'string') throw new UsageError(`stdin line ${n}: expected one JSON string per line`);
    io.stdout.write(`${JSON.stringify({ tokens: encode(text) })}\n`);
  }
  return 0;
}

export async function run(args: string[], io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { values, positionals } = parse(args, {
    text: { type: 'string', short: 't' }, file: { type: 'string', short: 'f' }, jsonl: { type: 'boolean' },
    bos: { type: 'boolean' }, special: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, usage);
  if (values.help) {
    io.stdout.write(`usage: ${usage}\n`);
    return 0;
  }
  const sources = [values.text !== undefined, values.file !== undefined, values.jsonl === true].filter(Boolean).length;
  if (positionals.length !== 1 || sources !== 1) throw new UsageError(`tokenize takes one FILE.gguf and one of --text, --file, --jsonl\nusage: ${usage}`);
  const tok = await loadTokenizer(positionals[0]!);
  // Fallbacks the tokenizer took (e.g. no tokenizer.ggml.pre) are never silent.
  for (const w of tok.warnings) io.stderr.write(`tabshard tokenize: warning: ${w}\n`);
  const encode = (s: string): number[] => tok.encode(s, { addBos: values.bos ?? false, parseSpecial: values.special ?? false });
  if (values.jsonl) return jsonl(encode, io);
  const text = values.text ?? (await readFile(values.file!, 'utf8'));
  const tokens = encode(text);
  io.stdout.write(values.json ? `${JSON.stringify({ tokens, count: tokens.length, warnings: tok.warnings })}\n` : `${tokens.join(' ')}\n`);
  return 0;
}
