// Uniform structs are defined once, here in TS; the WGSL `struct Params` is generated from the same
// layout and values are packed by field name (never by position at the call site).

export type UniformField = readonly [name: string, type: 'u32' | 'i32' | 'f32'];
export type UniformLayout = readonly UniformField[];

export function uniformStructWgsl(name: string, layout: UniformLayout): string {
  return `struct ${name} {\n${layout.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n}`;
}

/** Pack values by name; missing or extra names are programming errors and throw. */
export function packUniforms(layout: UniformLayout, values: Record<string, number>): ArrayBuffer {
  const size = Math.max(16, Math.ceil((layout.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(size);
  const dv = new DataView(buf);
  const known = new Set(layout.map(([n]) => n));
  for (const k of Object.keys(values)) if (!known.has(k)) throw new Error(`uniform '${k}' is not in the layout`);
  layout.forEach(([n, t], i) => {
    const v = values[n];
    if (v === undefined) throw new Error(`uniform '${n}' has no value`);
    if (t === 'f32') dv.setFloat32(i * 4, v, true);
    else if (t === 'i32') dv.setInt32(i * 4, v, true);
    else dv.setUint32(i * 4, v, true);
  });
  return buf;
}
