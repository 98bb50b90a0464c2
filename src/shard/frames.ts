// Activation frames: the hidden state [nTok][nEmbd] a stage sends on, as one self-describing
// ArrayBuffer, and its chunking into pieces that fit a WebRTC data channel message.
//
// Frame (little-endian), 40-byte header then the payload:
//   0 magic u32 'TSHF' | 4 version u16 | 6 dtype u16 (0 f32, 1 f16) | 8 seq u32 | 12 nTok u32
//   16 nEmbd u32 | 20 pos u32 | 24 from u32 | 28 to u32 | 32 payload bytes u32 | 36 checksum u32
// The checksum covers the header (checksum field excluded) and the payload, so a flipped bit
// anywhere is a FrameError rather than a quietly wrong answer. Every decoded value must be finite: a
// participant whose GPU produced NaN is dropped, never trusted.
//
// Chunk (16-byte header then data, at most CHUNK_BYTES in all: 16 KiB is the size every browser's
// data channel delivers unfragmented):
//   0 magic u32 'TSHC' | 4 frame id u32 | 8 index u16 | 10 count u16 | 12 frame bytes u32
import { f16ToF32, f32ToF16 } from '../quant/f16.ts';
import { FrameError } from './errors.ts';

export type WireDtype = 'f32' | 'f16';

export interface FrameHeader {
  readonly seq: number;
  readonly nTok: number;
  readonly nEmbd: number;
  readonly dtype: WireDtype;
  readonly pos: number;
  readonly from: number;
  readonly to: number;
}

export interface Frame {
  readonly header: FrameHeader;
  readonly hidden: Float32Array;
}

export const FRAME_MAGIC = 0x46485354; // bytes 'T' 'S' 'H' 'F'
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 40;
export const CHUNK_MAGIC = 0x43485354; // 'TSHC'
export const CHUNK_HEADER_BYTES = 16;
export const CHUNK_BYTES = 16 * 1024;
const F16_MAX = 65504;

/** FNV-1a style over 32-bit words (bytes for the tail): cheap, and any single corruption changes it. */
function checksum(parts: readonly Uint8Array[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const words = p.byteOffset % 4 === 0 ? Math.floor(p.byteLength / 4) : 0;
    const w = new Uint32Array(p.buffer, p.byteOffset, words);
    for (let i = 0; i < words; i++) {
      h = Math.imul(h ^ w[i]!, 0x01000193);
      h ^= h >>> 15;
    }
    for (let i = words * 4; i < p.byteLength; i++) h = Math.imul(h ^ p[i]!, 0x01000193);
  }
  return h >>> 0;
}

function frameChecksum(buf: ArrayBuffer, payloadBytes: number): number {
  return checksum([new Uint8Array(buf, 0, 36), new Uint8Array(buf, FRAME_HEADER_BYTES, payloadBytes)]);
}

function fitsF16(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!(Math.abs(x[i]!) <= F16_MAX)) return false;
  return true;
}

/**
 * Encodes hidden [nTok][nEmbd]. An f16 request whose values would overflow half precision (some
 * models have rare huge activations) is sent as f32 instead: the header says which.
 */
export function encodeFrame(h: FrameHeader, hidden: Float32Array): ArrayBuffer {
  if (hidden.length !== h.nTok * h.nEmbd) {
    throw new FrameError('size', `hidden has ${hidden.length} values, header says ${h.nTok} × ${h.nEmbd}`);
  }
  const dtype = h.dtype === 'f16' && fitsF16(hidden) ? 'f16' : 'f32';
  const payloadBytes = hidden.length * (dtype === 'f16' ? 2 : 4);
  const buf = new ArrayBuffer(FRAME_HEADER_BYTES + payloadBytes);
  const dv = new DataView(buf);
  dv.setUint32(0, FRAME_MAGIC, true);
  dv.setUint16(4, FRAME_VERSION, true);
  dv.setUint16(6, dtype === 'f16' ? 1 : 0, true);
  const fields = [h.seq, h.nTok, h.nEmbd, h.pos, h.from, h.to, payloadBytes];
  fields.forEach((v, i) => dv.setUint32(8 + 4 * i, v >>> 0, true));
  if (dtype === 'f16') {
    const out = new Uint16Array(buf, FRAME_HEADER_BYTES, hidden.length);
    for (let i = 0; i < hidden.length; i++) out[i] = f32ToF16(hidden[i]!);
  } else {
    new Float32Array(buf, FRAME_HEADER_BYTES, hidden.length).set(hidden);
  }
  dv.setUint32(36, frameChecksum(buf, payloadBytes), true);
  return buf;
}

/** Decodes and checks a frame; `expect` names header fields that must match (seq, nTok, ...). */
export function decodeFrame(buf: ArrayBuffer, expect: Partial<Omit<FrameHeader, 'dtype'>> = {}): Frame {
  if (buf.byteLength < FRAME_HEADER_BYTES) throw new FrameError('short', `${buf.byteLength} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  const dv = new DataView(buf);
  if (dv.getUint32(0, true) !== FRAME_MAGIC) throw new FrameError('magic', `bad magic 0x${dv.getUint32(0, true).toString(16)}`);
  const version = dv.getUint16(4, true);
  if (version !== FRAME_VERSION) throw new FrameError('version', `version ${version}, expected ${FRAME_VERSION}`);
  const code = dv.getUint16(6, true);
  if (code > 1) throw new FrameError('dtype', `unknown dtype code ${code}`);
  const dtype: WireDtype = code === 1 ? 'f16' : 'f32';
  const [seq, nTok, nEmbd, pos, from, to, payloadBytes] = Array.from({ length: 7 }, (_, i) => dv.getUint32(8 + 4 * i, true)) as [number, number, number, number, number, number, number];
  const elem = dtype === 'f16' ? 2 : 4;
  if (payloadBytes !== nTok * nEmbd * elem) throw new FrameError('size', `payload ${payloadBytes} bytes, but ${nTok} × ${nEmbd} × ${elem} = ${nTok * nEmbd * elem}`);
  if (buf.byteLength !== FRAME_HEADER_BYTES + payloadBytes) throw new FrameError('size', `frame is ${buf.byteLength} bytes, header says ${FRAME_HEADER_BYTES + payloadBytes}`);
  if (dv.getUint32(36, true) !== frameChecksum(buf, payloadBytes)) throw new FrameError('checksum', 'checksum mismatch (corrupted in transit or by the sender)');
  const header: FrameHeader = { seq, nTok, nEmbd, dtype, pos, from, to };
  for (const [k, v] of Object.entries(expect) as [keyof FrameHeader, number | undefined][]) {
    if (v !== undefined && header[k] !== v) throw new FrameError('mismatch', `${k} is ${header[k]}, expected ${v}`);
  }
  const n = nTok * nEmbd;
  let hidden: Float32Array;
  if (dtype === 'f16') {
    const src = new Uint16Array(buf, FRAME_HEADER_BYTES, n);
    hidden = new Float32Array(n);
    for (let i = 0; i < n; i++) hidden[i] = f16ToF32(src[i]!);
  } else {
    hidden = new Float32Array(buf.slice(FRAME_HEADER_BYTES));
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(hidden[i]!)) throw new FrameError('non-finite', `value ${hidden[i]} at index ${i} (token ${Math.floor(i / nEmbd)})`);
  }
  return { header, hidden };
}

/** Splits a frame into chunks of at most `chunkBytes` (header included), in order. */
export function chunkFrame(frame: ArrayBuffer, id: number, chunkBytes = CHUNK_BYTES): ArrayBuffer[] {
  const room = chunkBytes - CHUNK_HEADER_BYTES;
  if (room <= 0) throw new RangeError(`chunk size ${chunkBytes} leaves no room for data`);
  const count = Math.max(1, Math.ceil(frame.byteLength / room));
  if (count > 0xffff) throw new FrameError('chunk', `a ${frame.byteLength}-byte frame needs ${count} chunks (max 65535)`);
  const src = new Uint8Array(frame);
  const out: ArrayBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const part = src.subarray(i * room, Math.min(src.length, (i + 1) * room));
    const buf = new ArrayBuffer(CHUNK_HEADER_BYTES + part.length);
    const dv = new DataView(buf);
    dv.setUint32(0, CHUNK_MAGIC, true);
    dv.setUint32(4, id >>> 0, true);
    dv.setUint16(8, i, true);
    dv.setUint16(10, count, true);
    dv.setUint32(12, frame.byteLength, true);
    new Uint8Array(buf, CHUNK_HEADER_BYTES).set(part);
    out.push(buf);
  }
  return out;
}

/**
 * Reassembles frames from chunks arriving in order (data channels are ordered and reliable here).
 * Any inconsistency — wrong magic, a chunk out of order or from another frame before this one is
 * complete, sizes that disagree, a frame over `maxFrameBytes` — is a FrameError, and the assembler
 * resets so the next frame can start cleanly.
 */
export class FrameAssembler {
  private readonly maxFrameBytes: number;
  private readonly room: number;
  private cur: { id: number; count: number; total: number; next: number; data: Uint8Array; filled: number } | undefined;

  constructor(opts: { maxFrameBytes?: number; chunkBytes?: number } = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? 256 * 1024 * 1024;
    this.room = (opts.chunkBytes ?? CHUNK_BYTES) - CHUNK_HEADER_BYTES;
  }

  /** Adds a chunk; returns the whole frame when this chunk completes it. */
  push(chunk: ArrayBuffer): ArrayBuffer | undefined {
    try {
      return this.accept(chunk);
    } catch (e) {
      this.cur = undefined;
      throw e;
    }
  }

  private accept(chunk: ArrayBuffer): ArrayBuffer | undefined {
    if (chunk.byteLength < CHUNK_HEADER_BYTES) throw new FrameError('chunk', `chunk of ${chunk.byteLength} bytes is shorter than its header`);
    const dv = new DataView(chunk);
    if (dv.getUint32(0, true) !== CHUNK_MAGIC) throw new FrameError('chunk', 'bad chunk magic');
    const id = dv.getUint32(4, true);
    const index = dv.getUint16(8, true);
    const count = dv.getUint16(10, true);
    const total = dv.getUint32(12, true);
    const len = chunk.byteLength - CHUNK_HEADER_BYTES;
    if (total > this.maxFrameBytes) throw new FrameError('chunk', `frame of ${total} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
    if (count === 0 || count !== Math.max(1, Math.ceil(total / this.room))) throw new FrameError('chunk', `${count} chunks cannot carry ${total} bytes`);
    if (!this.cur) {
      if (index !== 0) throw new FrameError('chunk', `frame ${id} starts at chunk ${index}`);
      this.cur = { id, count, total, next: 0, data: new Uint8Array(total), filled: 0 };
    }
    const c = this.cur;
    if (id !== c.id || count !== c.count || total !== c.total) throw new FrameError('chunk', `chunk of frame ${id} while frame ${c.id} is incomplete`);
    if (index !== c.next) throw new FrameError('chunk', `chunk ${index} of frame ${id}, expected ${c.next}`);
    const want = index === count - 1 ? total - index * this.room : this.room;
    if (len !== want) throw new FrameError('chunk', `chunk ${index} of frame ${id} carries ${len} bytes, expected ${want}`);
    c.data.set(new Uint8Array(chunk, CHUNK_HEADER_BYTES), c.filled);
    c.filled += len;
    c.next++;
    if (c.next < count) return undefined;
    this.cur = undefined;
    return c.data.buffer as ArrayBuffer;
  }
}
