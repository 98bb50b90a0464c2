// `npm run gpu-lab -- pack`: everything one call on the GPU machine needs, in one ignored folder
// of at most 64 MiB (the most one call may carry). That machine has no Node, no npm, no internet
// and no Vulkan loader (../shared/GPU_LAB.md), so the folder holds:
//   bench.mjs     bench/gpu-lab.ts bundled by Vite into one file, WGSL inlined, only `webgpu` left out
//   webgpu.txz    the `webgpu` package's JS and its linux-x64 Dawn binding
//   node.xz       the Node binary running this script
//   gl-libs.txz   the Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan driver links to,
//                 copied from this machine's Debian packages (libvulkan1, libglvnd0, libegl1, ...)
//   run.sh        the one command: unpacks into a temp dir, finds the NVIDIA ICD, runs, copies the
//                 JSON (and the log) to $OUT
//   manifest.json what went in (sizes, sha256, versions, the commit)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { runScript } from './gpu-lab-run-sh.ts';

export const PACK_LIMIT_BYTES = 64 * 2 ** 20;
const REPO = resolve(new URL('..', import.meta.url).pathname);

/**
 * The libraries GPU_LAB.md's recipe installs from .debs (the Vulkan loader and what libGLX_nvidia
 * needs), plus the C++ runtime Node and dawn.node link to, which that machine was never checked
 * for; run.sh drops every one the machine already has.
 */
export const GL_LIBS = ['libvulkan.so.1', 'libGLdispatch.so.0', 'libEGL.so.1', 'libOpenGL.so.0', 'libGL.so.1', 'libGLX.so.0', 'libGLESv2.so.2', 'libstdc++.so.6', 'libgcc_s.so.1'];

export class GpuLabPackError extends Error {
  override name = 'GpuLabPackError';
}

export interface PackOptions {
  out: string;
  /** Node binary to carry (default: the one running this); null: none (run.sh then needs `node` on PATH). */
  node?: string | null;
  /** xz level for the Node binary (6: ~29 MB in ~40 s, cached; 1: ~35 MB in ~5 s). */
  xzLevel?: number;
  /** Where the GL/Vulkan libraries come from; null: do not carry them. */
  libsFrom?: string | null;
  log?: (line: string) => void;
}

export interface PackResult {
  out: string;
  files: { name: string; bytes: number; sha256: string }[];
  totalBytes: number;
}

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): void {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new GpuLabPackError(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

async function bundle(out: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: REPO,
    logLevel: 'warn',
    // In Node the engine reads WGSL from disk next to the sources; the bundle carries it instead,
    // through the browser build's import.meta.glob('?raw') module.
    resolve: { alias: { '#shaders': join(REPO, 'src/gpu/shaders.browser.ts') } },
    ssr: { noExternal: true, target: 'node' },
    build: {
      ssr: join(REPO, 'bench/gpu-lab.ts'),
      outDir: out,
      emptyOutDir: false,
      minify: false,
      target: 'node20',
      copyPublicDir: false,
      rollupOptions: { external: ['webgpu'], output: { format: 'es', entryFileNames: 'bench.mjs', codeSplitting: false } },
    },
  });
  const code = readFileSync(join(out, 'bench.mjs'), 'utf8');
  if (!code.includes('@compute')) throw new GpuLabPackError('the bundle carries no WGSL: shaders were not inlined');
  for (const f of readdirSync(out)) {
    if (f !== 'bench.mjs' && /\.(m?js|map)$/.test(f)) throw new GpuLabPackError(`the bundle is not one file: ${f} was emitted too`);
  }
}

/** xz of the Node binary, cached by (path, size, mtime, level): level 6 takes ~40 s on 2 cores. */
function nodeXz(node: string, level: number, dest: string, log: (l: string) => void): void {
  const st = statSync(node);
  const key = createHash('sha256').update(`${resolve(node)}|${st.size}|${st.mtimeMs}|${level}`).digest('hex').slice(0, 16);
  const cacheDir = join(tmpdir(), 'tabshard-gpu-lab-cache');
  const cached = join(cacheDir, `node-${key}.xz`);
  if (!existsSync(cached)) {
    mkdirSync(cacheDir, { recursive: true });
    log(`compressing ${node} (${(st.size / 2 ** 20).toFixed(0)} MiB) with xz -${level} ...`);
    const tmp = `${cached}.${process.pid}.tmp`;
    const r = spawnSync('sh', ['-c', `xz -T2 -${level} -c "$1" > "$2"`, 'sh', node, tmp], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new GpuLabPackError(`xz failed on ${node}`);
    sh('mv', [tmp, cached]);
  }
  copyFileSync(cached, dest);
}

function glLibs(from: string, dest: string): void {
  const stage = mkdtempSync(join(tmpdir(), 'gpu-lab-libs-'));
  try {
    const missing = GL_LIBS.filter((l) => !existsSync(join(from, l)));
    if (missing.length) {
      throw new GpuLabPackError(`${missing.join(', ')} not in ${from}: install libvulkan1 libglvnd0 libegl1 libopengl0 libgl1 libglx0 libgles2 libstdc++6 libgcc-s1, or pass --no-libs`);
    }
    // copyFileSync follows the symlinks: the SONAME file gets the library's bytes.
    for (const l of GL_LIBS) copyFileSync(join(from, l), join(stage, l));
    sh('tar', ['-C', stage, '-cJf', dest, ...GL_LIBS]);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function gitCommit(): string {
  const r = spawnSync('git', ['-C', REPO, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  const d = spawnSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'bench', 'shaders'], { encoding: 'utf8' });
  return `${r.stdout.trim()}${d.stdout.trim() ? ' (with uncommitted changes in src/bench/shaders)' : ''}`;
}

const PACK_FILES = ['bench.mjs', 'webgpu.txz', 'node.xz', 'gl-libs.txz', 'run.sh', 'manifest.json'];

export async function pack(o: PackOptions): Promise<PackResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  // Only what an earlier pack wrote is removed (the folder may hold results).
  for (const f of PACK_FILES) rmSync(join(out, f), { force: true });

  log('bundling bench/gpu-lab.ts ...');
  await bundle(out);
  const wg = join(REPO, 'node_modules');
  const wgFiles = ['webgpu/package.json', 'webgpu/index.js', 'webgpu/LICENSE.md', 'webgpu/dist/linux-x64'].filter((f) => existsSync(join(wg, f)));
  if (!wgFiles.includes('webgpu/dist/linux-x64')) throw new GpuLabPackError('node_modules/webgpu/dist/linux-x64 is missing (npm install)');
  sh('tar', ['-C', wg, '-cJf', join(out, 'webgpu.txz'), ...wgFiles]);
  const node = o.node === undefined ? process.execPath : o.node;
  if (node) nodeXz(node, o.xzLevel ?? 6, join(out, 'node.xz'), log);
  const libsFrom = o.libsFrom === undefined ? '/usr/lib/x86_64-linux-gnu' : o.libsFrom;
  if (libsFrom) glLibs(libsFrom, join(out, 'gl-libs.txz'));
  writeFileSync(join(out, 'run.sh'), runScript(), { mode: 0o755 });

  const files = PACK_FILES.filter((f) => f !== 'manifest.json' && existsSync(join(out, f))).map((name) => {
    const b = readFileSync(join(out, name));
    return { name, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  });
  const manifest = {
    created: new Date().toISOString(),
    commit: gitCommit(),
    node: node ? { from: node, version: node === process.execPath ? process.version : 'see the binary' } : null,
    webgpu: JSON.parse(readFileSync(join(wg, 'webgpu/package.json'), 'utf8')).version as string,
    glLibs: libsFrom ? GL_LIBS : [],
    files,
  };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const all = [...files, { name: 'manifest.json', bytes: statSync(join(out, 'manifest.json')).size, sha256: '' }];
  const totalBytes = all.reduce((n, f) => n + f.bytes, 0);
  for (const f of all) log(`  ${f.name.padEnd(14)} ${(f.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB`);
  log(`  ${'total'.padEnd(14)} ${(totalBytes / 2 ** 20).toFixed(2).padStart(7)} MiB of ${PACK_LIMIT_BYTES / 2 ** 20} MiB`);
  if (totalBytes > PACK_LIMIT_BYTES) {
    throw new GpuLabPackError(`the pack is ${(totalBytes / 2 ** 20).toFixed(1)} MiB, over the ${PACK_LIMIT_BYTES / 2 ** 20} MiB one call may carry (${all.map((f) => `${f.name} ${(f.bytes / 2 ** 20).toFixed(1)}`).join(', ')})`);
  }
  log(`packed ${out}: on the GPU machine run \`bash ${basename(out)}/run.sh\` from its parent folder (carry: ["${basename(out)}"])`);
  return { out, files: all, totalBytes };
}
