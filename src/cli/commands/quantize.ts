// `tabshard quantize IN.gguf OUT.gguf --type q2_k|q3_k|q4_k|q6_k|q8_0`: re-encode a model's weight
// matrices with the CPU reference quantizer and print a JSON summary.
import { writeFile } from 'node:fs/promises';
import { parse, UsageError } from '../args.ts';
import { fileRangeSource } from '../../formats/range-source-node.ts';
import { ggmlTypeByName } from '../../quant/ggml-types.ts';
import { canQuantize } from '../../quant/quantize.ts';
import { quantizeGguf } from '../../quant/quantize-gguf.ts';

export const summary = 'quantize a GGUF model (q2_k, q3_k, q4_k, q6_k, q8_0) with the CPU reference quantizer';

export const usage = 'tabshard quantize IN.gguf OUT.gguf --type q2_k|q3_k|q4_k|q6_k|q8_0 [--verbose]';

export async function run(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { type: { type: 'string', short: 't' }, verbose: { type: 'boolean', short: 'v' } }, usage);
  const [input, output] = positionals;
  if (!input || !output || positionals.length !== 2) throw new UsageError(`quantize takes IN and OUT\nusage: ${usage}`);
  const info = values.type ? ggmlTypeByName(values.type) : undefined;
  if (!info || !canQuantize(info.id)) throw new UsageError(`--type must be one of q2_k, q3_k, q4_k, q6_k, q8_0 (got ${values.type})\nusage: ${usage}`);
  const src = await fileRangeSource(input);
  try {
    const { bytes, summary: s } = await quantizeGguf(src, { type: info.id });
    await writeFile(output, bytes);
    // The per-tensor list is long: only with --verbose.
    const { tensors: _perTensor, ...totals } = s;
    console.log(JSON.stringify(values.verbose ? { ...s, out: output } : { ...totals, out: output }, null, 2));
  } finally {
    await src.close();
  }
  return 0;
}
