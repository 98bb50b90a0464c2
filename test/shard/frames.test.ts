// Activation frames: round trips (f32 exact, f16 within half precision), chunking and reassembly,
// and every malformed case rejected with FrameError naming the problem.
import { describe, expect, it } from 'vitest';
import { freshSeed, normals, rng } from '../../src/util/random.ts';
import { CHUNK_BYTES, chunkFrame, decodeFrame, encodeFrame, FRAME_HEADER_BYTES, FrameAssembler } from '../../src/shard/frames.ts';
import type { FrameHeader } from '../../src/shard/frames.ts';

const seed = freshSeed();
console.log(`frames seed ${seed}`);
const next = rng(seed);
const head = (over: Partial<FrameHeader> = {}): FrameHeader => ({ seq: 7, nTok: 3, nEmbd: 256, dtype: 'f32', pos: 11, from: 2, to: 4, ...over });

function problem(f: () => unknown): string | undefined {
  try { f(); } catch (e) {
    expect((e as Error).name).toBe('FrameError');
    return (e as { problem: string }).problem;
  }
  return undefined;
}

/** A copy of a frame with its header edited (checksum left as it was). */
function withHeader(frame: ArrayBuffer, edit: (dv: DataView) => void): ArrayBuffer {
  const b = frame.slice(0);
  edit(new DataView(b));
  return b;
}

describe('frames', () => {
  it('round-trips f32 exactly and f16 within half precision', () => {
    const x = normals(3 * 256, next, 4);
    const f32 = decodeFrame(encodeFrame(head(), x), { seq: 7, nTok: 3, pos: 11, from: 2, to: 4 });
    expect(f32.header).toEqual(head());
    expect(f32.hidden).toEqual(x);
    const enc = encodeFrame(head({ dtype: 'f16' }), x);
    expect(enc.byteLength).toBe(FRAME_HEADER_BYTES + x.length * 2);
    const f16 = decodeFrame(enc);
    expect(f16.header.dtype).toBe('f16');
    for (let i = 0; i < x.length; i++) {
      // Half precision: 11 significant bits, relative error <= 2^-11 (normal range).
      expect(Math.abs(f16.hidden[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -11 + 2 ** -24);
    }
  });

  it('sends f16 requests as f32 when a value would overflow half precision', () => {
    const x = new Float32Array(256).fill(1);
    x[5] = 1e6;
    const f = decodeFrame(encodeFrame(head({ dtype: 'f16', nTok: 1 }), x));
    expect(f.header.dtype).toBe('f32');
    expect(f.hidden[5]).toBe(1e6);
  });

  it('chunks to 16 KiB and reassembles, for sizes around the chunk boundary', () => {
    const asm = new FrameAssembler();
    for (const nTok of [0, 1, 15, 16, 17, 64]) {
      const x = normals(nTok * 256, next);
      const frame = encodeFrame(head({ nTok }), x);
      const chunks = chunkFrame(frame, nTok);
      for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(CHUNK_BYTES);
      expect(chunks.length).toBe(Math.max(1, Math.ceil(frame.byteLength / (CHUNK_BYTES - 16))));
      let out: ArrayBuffer | undefined;
      chunks.forEach((c, i) => {
        out = asm.push(c);
        expect(out === undefined).toBe(i < chunks.length - 1);
      });
      expect(decodeFrame(out!).hidden).toEqual(x);
    }
  });

  it('rejects every malformed frame with FrameError', () => {
    const x = normals(3 * 256, next);
    const good = encodeFrame(head(), x);
    expect(problem(() => decodeFrame(good.slice(0, 20)))).toBe('short');
    expect(problem(() => decodeFrame(withHeader(good, (dv) => dv.setUint32(0, 0x12345678, true))))).toBe('magic');
    expect(problem(() => decodeFrame(withHeader(good, (dv) => dv.setUint16(4, 9, true))))).toBe('version');
    expect(problem(() => decodeFrame(withHeader(good, (dv) => dv.setUint16(6, 3, true))))).toBe('dtype');
    expect(problem(() => decodeFrame(withHeader(good, (dv) => dv.setUint32(12, 4, true))))).toBe('size'); // nTok vs payload
    expect(problem(() => decodeFrame(good.slice(0, good.byteLength - 4)))).toBe('size'); // truncated
    const longer = new Uint8Array(good.byteLength + 4);
    longer.set(new Uint8Array(good));
    expect(problem(() => decodeFrame(longer.buffer))).toBe('size');
    // One flipped payload bit, and one flipped header field the size checks cannot see.
    expect(problem(() => decodeFrame(withHeader(good, (dv) => dv.setUint8(FRAME_HEADER_BYTES + 100, dv.getUint8(FRAME_HEADER_BYTES + 100) ^ 4))))).toBe('checksum');
    expect(problem(() => decodeFrame(withHeader(good, (dv) => dv.setUint32(20, 12, true))))).toBe('checksum');
    const nan = new Float32Array(x);
    nan[300] = NaN;
    expect(problem(() => decodeFrame(encodeFrame(head(), nan)))).toBe('non-finite');
    nan[300] = Infinity;
    expect(problem(() => decodeFrame(encodeFrame(head(), nan)))).toBe('non-finite');
    expect(problem(() => decodeFrame(good, { seq: 8 }))).toBe('mismatch');
    expect(problem(() => decodeFrame(good, { nEmbd: 512 }))).toBe('mismatch');
    expect(problem(() => decodeFrame(good, { from: 0, to: 2 }))).toBe('mismatch');
    expect(problem(() => encodeFrame(head({ nTok: 2 }), x))).toBe('size');
    // Random garbage of any length never decodes.
    for (let i = 0; i < 50; i++) {
      const g = new Uint8Array(Math.floor(next() * 4000));
      for (let j = 0; j < g.length; j++) g[j] = Math.floor(next() * 256);
      expect(problem(() => decodeFrame(g.buffer))).toBeDefined();
    }
  });

  it('rejects bad chunk sequences with FrameError and recovers for the next frame', () => {
    const frame = encodeFrame(head({ nTok: 40 }), normals(40 * 256, next));
    const chunks = chunkFrame(frame, 1);
    expect(chunks.length).toBe(3);
    const other = chunkFrame(encodeFrame(head({ nTok: 40, seq: 8 }), normals(40 * 256, next)), 2);
    const cases: [string, ArrayBuffer[]][] = [
      ['out of order', [chunks[0]!, chunks[2]!]],
      ['starts mid-frame', [chunks[1]!]],
      ['duplicate', [chunks[0]!, chunks[0]!]],
      ['interleaved frames', [chunks[0]!, other[1]!]],
      ['short chunk', [chunks[0]!.slice(0, chunks[0]!.byteLength - 1)]],
      ['tiny', [chunks[0]!.slice(0, 8)]],
      ['bad magic', [withHeader(chunks[0]!, (dv) => dv.setUint32(0, 1, true))]],
      ['count disagrees with size', [withHeader(chunks[0]!, (dv) => dv.setUint16(10, 9, true))]],
    ];
    const asm = new FrameAssembler();
    for (const [what, seqOf] of cases) {
      expect(problem(() => { for (const c of seqOf) asm.push(c); }), what).toBe('chunk');
      // After an error the assembler starts clean.
      let out: ArrayBuffer | undefined;
      for (const c of chunks) out = asm.push(c);
      expect(out!.byteLength).toBe(frame.byteLength);
    }
    const small = new FrameAssembler({ maxFrameBytes: 1000 });
    expect(problem(() => small.push(chunks[0]!))).toBe('chunk');
  });
});
