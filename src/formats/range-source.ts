// Byte-range access to a file that may live elsewhere (IndexedDB blocks, a gateway, a local file).
// The GGUF reader only ever asks for ranges, so the header can be parsed before the weights arrive.

export interface RangeSource {
  /** Total size of the file in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset` (callers stay within `size`). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A RangeSource over bytes already in memory (views, no copies). */
export function bytesSource(bytes: Uint8Array): RangeSource {
  return {
    size: bytes.length,
    read(offset: number, length: number): Promise<Uint8Array> {
      if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
        return Promise.reject(new RangeError(`read(${offset}, ${length}) outside 0..${bytes.length}`));
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}
