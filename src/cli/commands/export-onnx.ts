// `tabshard export-onnx MODEL.gguf OUTDIR [--q4] [--q4-only]`: write a transformers.js-compatible
// LlamaForCausalLM folder (onnx/model.onnx, config, generation config, tokenizer files).
import { parse } from '../args.ts';
import { exportOnnx } from '../../onnx/export.ts';
import type { WeightFormat } from '../../onnx/linear.ts';

export const summary = 'export a llama GGUF as a transformers.js / onnxruntime-web model folder';

export const usage = 'tabshard export-onnx MODEL.gguf OUTDIR [--q4] [--q4-only]';

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { q4: { type: 'boolean' }, 'q4-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    usage,
  );
  if (values.help) {
    console.log(`usage: ${usage}\n\n${summary}. F32 weights in onnx/model.onnx; --q4 adds onnx/model_q4.onnx (MatMulNBits, 4-bit blocks of 32); --q4-only writes only that one and makes it the default dtype.`);
    return 0;
  }
  if (positionals.length !== 2) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  const formats: WeightFormat[] = values['q4-only'] ? ['q4'] : values.q4 ? ['f32', 'q4'] : ['f32'];
  const files = await exportOnnx(positionals[0]!, positionals[1]!, { formats });
  for (const f of files) console.log(`${String(f.bytes.length).padStart(10)}  ${f.path}`);
  return 0;
}
