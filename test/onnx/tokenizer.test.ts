// The exported tokenizer.json, loaded by transformers.js's own tokenizer classes (from the local
// folder, no network), must encode and decode exactly as our GGUF tokenizer does; and transformers.js's
// text-generation pipeline on the exported folder must continue the prompt as the reference does.
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { dirname, basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/index.ts';
import { modelFile, ref } from '../engine/helpers.ts';
import { exportFixture, REF, type Exported } from './helpers.ts';

const gguf = tokenizerFromGguf(modelFile(REF).file);
const r = ref(REF);
let ex: Exported;
let id: string;

const PROMPTS = [
  'Once upon a time',
  'Hello world',
  ' leading space and  double  spaces ',
  'Lily and Ben went to the park.\nThey saw a big dog!',
  'tabs\tand\r\nnewlines',
  'émigré naïve café', // accents: byte fallback for pieces the 512-token vocabulary lacks
  '🙂 emoji 日本語',
  'numbers 12345 and punctuation: "quoted", (paren) [x]',
  '',
];

beforeAll(async () => {
  ex = await exportFixture(['f32']);
  // A local folder: transformers.js resolves `localModelPath/<id>/<file>` from disk; never the hub.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.localModelPath = `${dirname(ex.dir)}/`;
  id = basename(ex.dir);
});
afterAll(() => ex?.cleanup());

describe('exported tokenizer.json in transformers.js', () => {
  it('encodes every prompt to the GGUF tokenizer ids (BOS, dummy prefix, merges, byte fallback)', async () => {
    const tok = await AutoTokenizer.from_pretrained(id);
    expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    for (const p of PROMPTS) expect(tok.encode(p), JSON.stringify(p)).toEqual(gguf.encode(p));
  });

  it('decodes ids to the same text (skipping special tokens)', async () => {
    const tok = await AutoTokenizer.from_pretrained(id);
    for (const p of PROMPTS) {
      const ids = gguf.encode(p);
      expect(tok.decode(ids, { skip_special_tokens: true }), JSON.stringify(p)).toBe(gguf.decode(ids));
    }
    expect(tok.decode(r.generated_tokens, { skip_special_tokens: true })).toBe(r.generated_text_only.replace(/^ /, ''));
  });

  it('text-generation pipeline (greedy, onnxruntime-node) continues the prompt as the reference', async () => {
    const gen = await pipeline('text-generation', id, { dtype: 'fp32' });
    const out = (await gen(r.prompt, { max_new_tokens: r.generated_tokens.length, do_sample: false })) as { generated_text: string }[];
    expect(out[0]!.generated_text).toBe(r.text);
    await gen.dispose();
  });
});
