// `tabshard gguf inspect FILE` and `tabshard gguf dump FILE TENSOR --out OUT.f32`.
import { writeFile } from 'node:fs/promises';
import { parse, UsageError } from '../args.ts';
import { findTensor, readGgufHeader, readTensorBytes } from '../../formats/gguf-reader.ts';
import { inspectGguf } from '../../formats/gguf-inspect.ts';
import { fileRangeSource } from '../../formats/range-source-node.ts';
import { dequantize } from '../../quant/dequantize.ts';

export const summary = 'inspect a GGUF file (header, metadata, tensors) or dump one tensor as f32';

export const usage = 'tabshard gguf inspect FILE [--max-array N] | tabshard gguf dump FILE TENSOR --out OUT.f32';

async function inspect(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { 'max-array': { type: 'string' } }, usage);
  const [file] = positionals;
  if (!file || positionals.length !== 1) throw new UsageError(`gguf inspect takes one FILE\nusage: ${usage}`);
  const maxArrayItems = values['max-array'] === undefined ? undefined : Number(values['max-array']);
  const src = await fileRangeSource(file);
  try {
    const header = await readGgufHeader(src);
    console.log(JSON.stringify(inspectGguf(header, { maxArrayItems }), null, 2));
  } finally {
    await src.close();
  }
  return 0;
}

async function dump(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { out: { type: 'string', short: 'o' } }, usage);
  const [file, name] = positionals;
  const out = values.out;
  if (!file || !name || positionals.length !== 2 || !out) throw new UsageError(`gguf dump takes FILE TENSOR --out OUT\nusage: ${usage}`);
  const src = await fileRangeSource(file);
  try {
    const header = await readGgufHeader(src);
    const tensor = findTensor(header, name);
    if (!tensor) {
      console.error(`tabshard gguf dump: no tensor '${name}' in ${file}`);
      return 1;
    }
    const f32 = dequantize(tensor.type, await readTensorBytes(src, tensor), tensor.nElements);
    // Float32Array is host-endian; every platform we run on is little-endian, but be explicit.
    const bytes = new Uint8Array(f32.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < f32.length; i++) view.setFloat32(i * 4, f32[i]!, true);
    await writeFile(out, bytes);
    console.log(JSON.stringify({ tensor: name, type: tensor.typeName, shape: tensor.shape, elements: f32.length, out }));
  } finally {
    await src.close();
  }
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'inspect') return inspect(rest);
  if (sub === 'dump') return dump(rest);
  console.error(`usage: ${usage}`);
  return 2;
}
