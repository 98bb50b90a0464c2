// Pipelines: one function builds every cache key, pipelines are labelled with their variant, and
// WGSL variants come from `override` constants plus one small template step (feature blocks).
import { shaderSource } from '#shaders';
import { ShaderError } from './errors.ts';
import { uniformStructWgsl, type UniformLayout } from './uniforms.ts';

export interface KernelVariant {
  /** File name in shaders/ without `.wgsl`. */
  shader: string;
  entry?: string;
  /** Values for WGSL `override` constants (workgroup size, rows per workgroup, ...). */
  overrides?: Record<string, number>;
  /** Template flags: `//#if NAME` blocks kept when set; `SHADER_F16`/`SUBGROUPS` also add `enable` lines. */
  flags?: readonly string[];
  /** Uniform struct layout injected as `struct Params` (defined once, in TS). */
  uniforms?: UniformLayout;
}

/** The one function that names a pipeline: cache key and GPU label are the same string. */
export function pipelineKey(v: KernelVariant): string {
  const o = Object.entries(v.overrides ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${k}=${x}`);
  const f = [...(v.flags ?? [])].sort();
  return `${v.shader}:${v.entry ?? 'main'}${o.length ? `[${o.join(',')}]` : ''}${f.length ? `{${f.join(',')}}` : ''}${v.uniforms ? `~${layoutTag(v.uniforms)}` : ''}`;
}

/**
 * A short tag of a uniform layout (FNV-1a of its fields): the same shader and flags with another
 * Params struct is another pipeline (mm_q's plain and fused entries differ only there; sharing one
 * bound 32-byte uniforms to a 52-byte struct).
 */
function layoutTag(u: UniformLayout): string {
  let h = 0x811c9dc5;
  for (const ch of u.map(([name, type]) => `${name}:${type}`).join(',')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h >>> 0).toString(36);
}

const ENABLES: Record<string, string> = { SHADER_F16: 'enable f16;', SUBGROUPS: 'enable subgroups;' };
/** The device feature each `enable` flag needs: asking for one the device lacks is a typed error, not a WGSL one. */
const FLAG_FEATURES: Record<string, GPUFeatureName> = { SHADER_F16: 'shader-f16', SUBGROUPS: 'subgroups' };

/**
 * The template step: keep `//#if FLAG` / `//#if !FLAG` ... `//#else` ... `//#endif` blocks by flag
 * (no nesting), splice `//#include NAME` (another file in shaders/, expanded the same way), then
 * prepend the `enable` directives the flags need and the uniform struct. Written by hand because it
 * is 40 lines and a general preprocessor would hide what the shader really is.
 */
export function expandShader(
  source: string,
  flags: readonly string[],
  uniforms?: UniformLayout,
  load: (name: string) => string = shaderSource,
): string {
  const set = new Set(flags);
  const body = expandBody(source, set, load, 0);
  const head = flags.filter((f) => ENABLES[f]).map((f) => ENABLES[f]);
  if (uniforms) head.push(uniformStructWgsl('Params', uniforms));
  return [...head, ...body].join('\n');
}

function expandBody(source: string, set: ReadonlySet<string>, load: (name: string) => string, depth: number): string[] {
  if (depth > 4) throw new ShaderError('shader includes nest deeper than 4 levels');
  const out: string[] = [];
  let state: 'none' | 'keep' | 'drop' = 'none';
  for (const line of source.split('\n')) {
    const m = /^\s*\/\/#(if|else|endif|include)\s*(!?)(\w*)/.exec(line);
    if (m && m[1] !== 'include') {
      if (m[1] === 'if') state = set.has(m[3]) !== (m[2] === '!') ? 'keep' : 'drop';
      else if (m[1] === 'else') state = state === 'keep' ? 'drop' : 'keep';
      else state = 'none';
      continue;
    }
    if (state === 'drop') continue;
    if (m) out.push(...expandBody(load(m[3]), set, load, depth + 1));
    else out.push(line);
  }
  return out;
}

export class PipelineCache {
  private readonly device: GPUDevice;
  private readonly cache = new Map<string, Promise<GPUComputePipeline>>();

  constructor(device: GPUDevice) {
    this.device = device;
  }

  get size(): number {
    return this.cache.size;
  }

  get(v: KernelVariant): Promise<GPUComputePipeline> {
    const key = pipelineKey(v);
    let p = this.cache.get(key);
    if (!p) {
      p = this.build(key, v);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private async build(label: string, v: KernelVariant): Promise<GPUComputePipeline> {
    for (const f of v.flags ?? []) {
      const need = FLAG_FEATURES[f];
      if (need && !this.device.features.has(need)) throw new ShaderError(`${label}: the ${f} variant needs the '${need}' feature, which this device lacks`);
    }
    const code = expandShader(shaderSource(v.shader), v.flags ?? [], v.uniforms);
    if ((globalThis as { TABSHARD_PRINT_SHADER?: boolean }).TABSHARD_PRINT_SHADER) console.log(`// ${label}\n${code}`);
    const module = this.device.createShaderModule({ code, label });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new ShaderError(`${label}: ${errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`);
    }
    try {
      return await this.device.createComputePipelineAsync({
        label,
        layout: 'auto',
        compute: { module, entryPoint: v.entry ?? 'main', constants: v.overrides },
      });
    } catch (cause) {
      throw new ShaderError(`${label}: pipeline creation failed: ${(cause as Error).message}`, { cause });
    }
  }

  clear(): void {
    this.cache.clear();
  }
}
