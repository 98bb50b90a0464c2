// The facts a registry entry keeps about a GGUF file (architecture, parameters, context, tensor
// types), read from its header alone through any byte-range source: a file, a Blob, a stored DAG.
import { readGgufHeader } from '../formats/gguf-reader.ts';
import { metaNumber, metaString } from '../formats/gguf-meta.ts';
import type { RangeSource } from '../formats/range-source.ts';
import type { GgufSummary } from './registry.ts';

const MAGIC = 'GGUF';

/** undefined when the source does not start with the GGUF magic. */
export async function summarizeGguf(source: RangeSource, signal?: AbortSignal): Promise<GgufSummary | undefined> {
  if (source.size < 4) return undefined;
  const head = await source.read(0, 4);
  if (String.fromCharCode(...head) !== MAGIC) return undefined;
  const file = await readGgufHeader(source, { signal });
  const architecture = metaString(file, 'general.architecture');
  const tensorTypes: Record<string, number> = {};
  let parameterCount = 0;
  for (const t of file.tensors) {
    tensorTypes[t.typeName] = (tensorTypes[t.typeName] ?? 0) + 1;
    parameterCount += t.nElements;
  }
  return {
    architecture,
    modelName: metaString(file, 'general.name'),
    parameterCount,
    contextLength: architecture ? metaNumber(file, `${architecture}.context_length`) : undefined,
    tensorTypes,
  };
}
