// Node: WGSL read from shaders/ on disk (the same files Vite inlines with ?raw in the browser).
import { readFileSync } from 'node:fs';

const dir = new URL('../../shaders/', import.meta.url);
const cache = new Map<string, string>();

export function shaderSource(name: string): string {
  let s = cache.get(name);
  if (s === undefined) {
    if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad shader name '${name}'`);
    s = readFileSync(new URL(`${name}.wgsl`, dir), 'utf8');
    cache.set(name, s);
  }
  return s;
}
