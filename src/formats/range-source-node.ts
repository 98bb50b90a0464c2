// Node-only: a RangeSource over a local file. Kept apart so browser bundles never see node:fs.
import { open, type FileHandle } from 'node:fs/promises';
import type { RangeSource } from './range-source.ts';

export interface FileRangeSource extends RangeSource {
  close(): Promise<void>;
}

export async function fileRangeSource(path: string): Promise<FileRangeSource> {
  const fh: FileHandle = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new RangeError(`unexpected end of ${path} at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}
