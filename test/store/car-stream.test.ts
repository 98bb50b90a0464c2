// The streamed CAR reader (src/store/car-stream.ts) against @ipld/car's own reader on the same
// bytes: a real CAR written by our gateway's writer (carStream over @ipld/car's CarWriter), cut
// into chunks of random sizes (1 byte up to several blocks), so section headers and blocks
// straddle chunk boundaries in every way.
import { CarReader } from '@ipld/car';
import { describe, expect, it } from 'vitest';
import { carStream, scopeBlocks } from '../../src/store/car.ts';
import { carStreamBlocks, streamReader } from '../../src/store/car-stream.ts';
import { buildDag, makeRandom, randomBytes, testSeed } from './helpers.ts';

const seed = testSeed('car-stream');

async function carBytes(size: number, chunk: number): Promise<Uint8Array> {
  const { root, store } = await buildDag(randomBytes(seed, size), { chunk, fanout: 5 });
  const parts: Uint8Array[] = [];
  for await (const c of carStream(root, scopeBlocks(root, 'all', (cid) => store.get(cid)))) parts.push(c);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** The bytes cut at random points: chunks of 1 byte to `max` bytes. */
async function* randomCuts(bytes: Uint8Array, max: number, rand: () => number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(rand() * Math.min(max, bytes.length - at));
    yield bytes.slice(at, at + n); // slices: each chunk in a buffer of its own, as a body's are
    at += n;
  }
}

function uniform(s: number): () => number {
  const next = makeRandom(s);
  return () => new Uint32Array(next(4).buffer)[0]! / 2 ** 32;
}

describe('streamed CAR reader', () => {
  it('yields what @ipld/car reads, each block in a buffer of its own, whatever the chunking', async () => {
    const car = await carBytes(120_000, 8192);
    const expected = await (await CarReader.fromBytes(car)).getRoots();
    const reference: Array<{ cid: { toString(): string }; bytes: Uint8Array }> = [];
    for await (const b of (await CarReader.fromBytes(car)).blocks()) reference.push(b);
    expect(reference.length).toBeGreaterThan(15);
    const rand = uniform(seed);
    for (const max of [1, 7, 100, 20_000, 70_000, car.length]) {
      const { roots, blocks } = await carStreamBlocks(randomCuts(car, max, rand));
      expect(roots.map(String)).toEqual(expected.map(String));
      const got = [];
      for await (const b of blocks) got.push(b);
      expect(got.map((b) => b.cid.toString())).toEqual(reference.map((b) => b.cid.toString()));
      got.forEach((b, i) => {
        expect(Buffer.from(b.bytes).equals(Buffer.from(reference[i]!.bytes))).toBe(true);
        if (b.bytes.length >= 1024) expect([b.bytes.byteOffset, b.bytes.buffer.byteLength]).toEqual([0, b.bytes.length]);
      });
    }
  });

  it('a truncated stream ends with an error, not with fewer blocks', async () => {
    const car = await carBytes(100_000, 8192);
    const cut = car.subarray(0, car.length - 100);
    const { blocks } = await carStreamBlocks(randomCuts(cut, 5000, uniform(seed + 1)));
    await expect((async () => {
      for await (const _ of blocks) void _;
    })()).rejects.toThrow(/Unexpected end of data/);
  });

  it('garbage instead of a CAR header is refused', async () => {
    async function* junk(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([0x05, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
    await expect(carStreamBlocks(junk())).rejects.toThrow();
  });

  it('the reader: upTo at the end, exactly past the end, seek past what was read', async () => {
    async function* two(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array([4, 5]);
    }
    const r = streamReader(two());
    expect([...(await r.upTo(4))]).toEqual([1, 2, 3, 4]);
    expect(r.pos).toBe(0);
    expect([...(await r.exactly(2, true))]).toEqual([1, 2]);
    r.seek(2);
    expect(r.pos).toBe(4);
    expect([...(await r.upTo(10))]).toEqual([5]);
    await expect(r.exactly(2)).rejects.toThrow(/Unexpected end of data/);
    expect(() => r.seek(5)).toThrow(/seek past/);
  });
});
