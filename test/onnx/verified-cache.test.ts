// The exported folder published as one UnixFS directory, served to transformers.js through the
// verified cache from two local gateways (the first corrupts every block): the pipeline continues the
// prompt as the reference, every file came through the Loader (blocks verified), no corrupted byte
// was stored, nothing was fetched outside the store, and a second pipeline reads only the store.
import { env, pipeline } from '@huggingface/transformers';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelKey, VERIFIED_BASE, VerifiedModelCache } from '../../src/onnx/verified-cache.ts';
import { useVerifiedStore, type TransformersEnvLike } from '../../src/onnx/transformers-env.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import { Loader } from '../../src/store/loader.ts';
import { MemoryModelStore } from '../../src/store/memory-model-store.ts';
import { publishDir } from '../../src/store/publish-dir.ts';
import { importRegistry, type Registry, type RegistryEntry } from '../../src/store/registry.ts';
import { ref } from '../engine/helpers.ts';
import { exportFixture, REF, type Exported } from './helpers.ts';

const r = ref(REF);
let ex: Exported;
let entry: RegistryEntry;
let registry: Registry;
let bad: RunningGateway;
let good: RunningGateway;
let storeDir: string;

beforeAll(async () => {
  ex = await exportFixture(['f32']);
  storeDir = `${ex.dir}-store`; // beside the folder, not inside it (it would be published too)
  ({ entry } = await publishDir(ex.dir, { name: 'stories-onnx', version: '1.0.0', storeDir }));
  registry = importRegistry(readFileSync(join(storeDir, 'registry.json'), 'utf8'));
  bad = await startGateway({ store: storeDir, faults: { corrupt: { fraction: 1 } } });
  good = await startGateway({ store: storeDir });
});
afterAll(async () => {
  await Promise.all([bad?.close(), good?.close()]);
  ex?.cleanup();
  rmSync(storeDir, { recursive: true, force: true });
});

describe('publish a model folder', () => {
  it('is one directory entry of kind transformers.js listing every file with its CID', () => {
    expect(entry).toMatchObject({ name: 'stories-onnx', format: 'onnx', kind: 'transformers.js', tasks: ['text-generation'] });
    expect(Object.keys(entry.files!).sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    const sizes = Object.fromEntries(ex.files.map((f) => [f.path, f.bytes.length]));
    for (const [path, f] of Object.entries(entry.files!)) expect(f.size).toBe(sizes[path]);
    expect(entry.size).toBe(Object.values(sizes).reduce((a, b) => a + b, 0));
  });
});

describe('verified cache', () => {
  it('parses transformers.js request keys (plain, with our base, scoped names) and ignores other URLs', () => {
    expect(parseModelKey('stories-onnx@1.0.0/onnx/model.onnx')).toEqual({ spec: 'stories-onnx@1.0.0', path: 'onnx/model.onnx' });
    expect(parseModelKey(`${VERIFIED_BASE}@org/m@^1/config.json`)).toEqual({ spec: '@org/m@^1', path: 'config.json' });
    expect(parseModelKey('http://127.0.0.1:4173/assets/ort.wasm')).toBeUndefined();
    expect(parseModelKey('https://huggingface.co/x/resolve/main/config.json')).toBeUndefined();
  });

  it('transformers.js generates from the store: verified blocks only, no request outside it, none twice', async () => {
    const store = new MemoryModelStore();
    const loader = new Loader({ store, registry: async () => registry });
    const refused: string[] = [];
    const tenv = env as unknown as TransformersEnvLike; // transformers.js's env type is wider than the fields we set
    const cache = new VerifiedModelCache({ loader, registry: async () => registry, gateways: [bad.url, good.url] });
    useVerifiedStore(tenv, cache, { allow: [], refused });
    const gen = await pipeline('text-generation', 'stories-onnx@1.0.0', { dtype: 'fp32' });
    const out = (await gen(r.prompt, { max_new_tokens: r.generated_tokens.length, do_sample: false })) as { generated_text: string }[];
    expect(out[0]!.generated_text).toBe(r.text);
    await gen.dispose();

    const paths = cache.loads.map((l) => l.path).sort();
    expect(paths).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    for (const l of cache.loads) {
      expect(l.result.blocksFromStore).toBe(0);
      expect(Object.keys(l.result.sources)).toEqual([good.url]); // bad bytes were never stored
    }
    expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
    expect(refused.filter((u) => !u.startsWith(VERIFIED_BASE))).toEqual([]);

    // A second page's worth: a fresh cache over the same store fetches nothing.
    const servedBefore = good.stats.blocksServed + bad.stats.blocksServed;
    const again = new VerifiedModelCache({ loader, registry: async () => registry, gateways: [bad.url, good.url] });
    useVerifiedStore(tenv, again, { allow: [], refused });
    const gen2 = await pipeline('text-generation', 'stories-onnx@^1', { dtype: 'fp32' });
    const out2 = (await gen2(r.prompt, { max_new_tokens: 8, do_sample: false })) as { generated_text: string }[];
    expect(r.text.startsWith(out2[0]!.generated_text)).toBe(true);
    await gen2.dispose();
    expect(again.loads.every((l) => l.result.blocksFetched === 0)).toBe(true);
    expect(good.stats.blocksServed + bad.stats.blocksServed).toBe(servedBefore);
  });

  it('refuses a registry entry that is not a model folder', async () => {
    const cache = new VerifiedModelCache({ loader: new Loader({ store: new MemoryModelStore() }), registry: async () => registry, gateways: [] });
    await expect(cache.match('nope@1.0.0/config.json')).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(await cache.match('stories-onnx@1.0.0/preprocessor_config.json')).toBeUndefined();
  });
});
