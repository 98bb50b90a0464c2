// Registries side by side: entries keep their registry, conflicts are reported (the first registry
// wins for resolution), and a registry published with `tabshard publish` is fetched by CID through
// a gateway and verified; a gateway serving a wrong block cannot change it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import { publish } from '../../src/store/publish.ts';
import { addEntry, emptyRegistry, exportRegistry, resolve, type RegistryEntry } from '../../src/store/registry.ts';
import { mergeRegistries } from '../../src/store/registry-merge.ts';
import { fetchRegistry, parseRegistrySource, sourceLabel } from '../../src/store/registry-sources.ts';
import { withTempDir } from './helpers.ts';

function entry(name: string, version: string, cid: string, tags: string[] = []): RegistryEntry {
  return { name, version, tags, cid, size: 1, sha256: '0'.repeat(64), format: 'gguf', publishedAt: '2026-01-01T00:00:00.000Z' };
}

const reg = (...entries: RegistryEntry[]) => entries.reduce(addEntry, emptyRegistry());
const gateways: RunningGateway[] = [];
afterAll(() => Promise.all(gateways.map((g) => g.close())));

describe('mergeRegistries', () => {
  it('keeps each entry\'s registry, reports conflicts, resolves to the first registry\'s entry', () => {
    const a = reg(entry('tiny', '1.0.0', 'bafyA-tiny'), entry('same', '1.0.0', 'bafy-same-cid'));
    const b = reg(entry('tiny', '1.0.0', 'bafyB-tiny'), entry('same', '1.0.0', 'bafy-same-cid'), entry('other', '2.0.0', 'bafyB-other'));
    const m = mergeRegistries([{ registry: 'a', doc: a }, { registry: 'b', doc: b }]);
    expect(m.entries.map((e) => `${e.name}@${e.version}:${e.registry}`).sort()).toEqual(['other@2.0.0:b', 'same@1.0.0:a', 'tiny@1.0.0:a', 'tiny@1.0.0:b']);
    expect(m.conflicts).toEqual([{ key: 'tiny@1.0.0', entries: [expect.objectContaining({ cid: 'bafyA-tiny', registry: 'a' }), expect.objectContaining({ cid: 'bafyB-tiny', registry: 'b' })] }]);
    expect(resolve(m.effective, 'tiny@1.0.0').cid).toBe('bafyA-tiny');
    expect(resolve(m.effective, 'other').cid).toBe('bafyB-other');
  });

  it('parses sources: http(s) URLs and CIDs (ipfs:// and /ipfs/ prefixes too); anything else is a RegistryError', () => {
    expect(parseRegistrySource('https://x.example/registry.json', 1)).toEqual({ kind: 'url', location: 'https://x.example/registry.json', addedAt: 1 });
    const cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
    expect(sourceLabel(parseRegistrySource(`ipfs://${cid}`))).toBe(`cid:${cid}`);
    expect(() => parseRegistrySource('registry.json')).toThrow(expect.objectContaining({ name: 'RegistryError' }));
  });
});

describe('fetchRegistry', () => {
  it('fetches a registry published by CID through gateways, verified (a corrupting gateway first)', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'registry.json');
      const doc = reg(entry('other', '2.0.0', 'bafyB-other'));
      await writeFile(file, exportRegistry(doc));
      const storeDir = join(dir, 'store');
      const { entry: published } = await publish(file, { name: 'my-registry', version: '1.0.0', storeDir });
      const bad = await startGateway({ store: storeDir, faults: { corrupt: { fraction: 1 } } });
      const good = await startGateway({ store: storeDir });
      gateways.push(bad, good);
      const got = await fetchRegistry(parseRegistrySource(published.cid), { gateways: [bad.url, good.url] });
      expect(got.entries).toEqual(doc.entries);
      expect(bad.stats.faults.corrupt).toBeGreaterThan(0);
      await expect(fetchRegistry(parseRegistrySource(published.cid), { gateways: [bad.url] })).rejects.toMatchObject({ name: 'AllGatewaysFailedError' });
      await expect(fetchRegistry(parseRegistrySource(`${good.url}/nope.json`))).rejects.toMatchObject({ name: 'DownloadError', status: 404 });
    });
  });
});
