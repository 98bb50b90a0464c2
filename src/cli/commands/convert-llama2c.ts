// `tabshard convert-llama2c MODEL.bin TOKENIZER.bin OUT.gguf [--name NAME]`: llama2.c → GGUF (F32).
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse, UsageError } from '../args.ts';
import { convertLlama2c, readLlama2cHeader } from '../../engine/llama2c.ts';

export const summary = 'convert a llama2.c checkpoint + tokenizer.bin to a GGUF file (F32)';

export const usage = 'tabshard convert-llama2c MODEL.bin TOKENIZER.bin OUT.gguf [--name NAME]';

export async function run(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { name: { type: 'string' } }, usage);
  const [modelPath, tokPath, outPath] = positionals;
  if (!modelPath || !tokPath || !outPath || positionals.length !== 3) throw new UsageError(`convert-llama2c takes MODEL TOKENIZER OUT\nusage: ${usage}`);
  const model = new Uint8Array(await readFile(modelPath));
  const tok = new Uint8Array(await readFile(tokPath));
  const name = values.name ?? basename(modelPath).replace(/\.bin$/, '');
  const out = convertLlama2c(model, tok, { name });
  await writeFile(outPath, out);
  console.log(JSON.stringify({ out: outPath, bytes: out.length, name, ...readLlama2cHeader(model) }));
  return 0;
}
