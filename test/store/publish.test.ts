import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CarReader } from '@ipld/car';
import { afterEach, describe, expect, it } from 'vitest';
import { storeFirst } from '../../src/store/block-getter.ts';
import { MemoryBlockstore } from '../../src/store/blockstore.ts';
import { GatewayClient } from '../../src/store/gateway-client.ts';
import { startGateway, type RunningGateway } from '../../src/store/gateway-server.ts';
import { publish, type PublishProgress } from '../../src/store/publish.ts';
import { importRegistry, resolve } from '../../src/store/registry.ts';
import { createRangeSource } from '../../src/store/unixfs-range.ts';
import { isValidBlock } from '../../src/store/verify.ts';
import { testSeed, withTempDir, writeRandomFile } from './helpers.ts';

const fixture = 'test/fixtures/stories260K-f32.gguf';
const seed = testSeed('publish');
let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('publish', () => {
  it('publishes the stories260K GGUF end to end; a range read of the root through a gateway gives GGUF', async () => {
    await withTempDir(async (dir) => {
      const storeDir = join(dir, 'store');
      const events: PublishProgress[] = [];
      const { entry, carPath, registryPath } = await publish(fixture, {
        name: 'stories260k', version: '1.0.0', tags: ['latest'], storeDir, onProgress: (e) => events.push(e),
      });
      const bytes = await readFile(fixture);
      expect(entry).toMatchObject({ name: 'stories260k', version: '1.0.0', size: bytes.length, format: 'gguf', tags: ['latest'] });
      expect(entry.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(entry.cid).toMatch(/^bafybei/);
      expect(entry.gguf).toEqual({
        architecture: 'llama', modelName: 'stories260K', parameterCount: 260032, contextLength: 512, tensorTypes: { f32: 47 },
      });
      const imports = events.filter((e) => e.phase === 'import');
      expect(imports.at(-1)).toEqual({ phase: 'import', bytes: bytes.length, total: bytes.length });

      // The registry file resolves to the entry.
      const reg = importRegistry(await readFile(registryPath, 'utf8'));
      expect(resolve(reg, 'stories260k@^1').cid).toBe(entry.cid);
      expect(resolve(reg, 'stories260k@latest').cid).toBe(entry.cid);

      // The CAR has the root and every block, all verified.
      expect(carPath).toBe(join(storeDir, 'cars', `${entry.cid}.car`));
      const car = await CarReader.fromBytes(await readFile(carPath));
      expect((await car.getRoots()).map(String)).toEqual([entry.cid]);
      let n = 0;
      for await (const b of car.blocks()) {
        expect(await isValidBlock(b.cid, b.bytes)).toBe(true);
        n++;
      }
      expect(n).toBe(1 + Math.ceil(bytes.length / 262144));

      // Served by our gateway from the store dir, read by range through a verifying client.
      gw = await startGateway({ store: storeDir });
      const client = new GatewayClient({ gateways: [gw.url] });
      const src = await createRangeSource(entry.cid, storeFirst(new MemoryBlockstore(), (c, o) => client.getBlock(c, o)));
      expect(src.size).toBe(bytes.length);
      expect(new TextDecoder().decode(await src.read(0, 4))).toBe('GGUF');
      expect(src.stats.blocksFetched).toBe(2);
    });
  });

  it('non-GGUF files are raw; republishing is idempotent, a different file under the same version is refused; tags move', async () => {
    await withTempDir(async (dir) => {
      const storeDir = join(dir, 'store');
      const a = join(dir, 'a.bin');
      const b = join(dir, 'b.bin');
      await writeRandomFile(a, 300_000, seed);
      await writeRandomFile(b, 1000, seed + 1);
      const first = await publish(a, { name: 'blob', version: '0.1.0', tags: ['stable'], storeDir });
      expect(first.entry.format).toBe('raw');
      expect(first.entry.gguf).toBeUndefined();
      await publish(a, { name: 'blob', version: '0.1.0', tags: ['stable'], storeDir });
      await expect(publish(b, { name: 'blob', version: '0.1.0', storeDir })).rejects.toMatchObject({ name: 'RegistryError' });
      await publish(b, { name: 'blob', version: '0.2.0', tags: ['stable'], storeDir, rawLeaves: false });
      const reg = importRegistry(await readFile(join(storeDir, 'registry.json'), 'utf8'));
      expect(reg.entries).toHaveLength(2);
      expect(resolve(reg, 'blob@stable').version).toBe('0.2.0');
      expect(resolve(reg, 'blob@stable').cid).toMatch(/^Qm/);
      expect(resolve(reg, 'blob@0.1.0').tags).toEqual([]);
      await expect(publish(a, { name: 'Bad Name', version: '1.0.0', storeDir })).rejects.toMatchObject({ name: 'RegistryError' });
      await expect(publish(a, { name: 'ok', version: '1.0', storeDir })).rejects.toMatchObject({ name: 'RegistryError' });
    });
  });

  it('the CLI publishes and prints the entry as JSON', async () => {
    await withTempDir(async (dir) => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        'bin/tabshard.js', 'publish', fixture, '--name', 'stories260k', '--version', '2.0.0', '--tag', 'beta', '--store', join(dir, 's'),
      ]);
      const printed = JSON.parse(stdout) as { cid: string; format: string; tags: string[] };
      expect(printed).toMatchObject({ format: 'gguf', tags: ['beta'] });
      expect(printed.cid).toMatch(/^bafybei/);
    });
  });
});
