// Browser: every shaders/*.wgsl inlined by Vite as a string (?raw), keyed by file name.
const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

const byName = new Map(Object.entries(files).map(([path, src]) => [path.replace(/^.*\/(\w+)\.wgsl$/, '$1'), src]));

export function shaderSource(name: string): string {
  const s = byName.get(name);
  if (s === undefined) throw new Error(`unknown shader '${name}'`);
  return s;
}
