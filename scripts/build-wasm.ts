// `npm run build:wasm` builds src/engine/wasm/kernels.wasm and kernels-mt.wasm from src/engine/wasm/c/*.c;
// `npm run build:wasm -- --check` rebuilds into a temporary folder and fails if a committed one differs.
//
// Why C through Debian's clang + lld (apt-get install clang lld), and why the .wasm is committed:
// - wasm_simd128.h gives the i16x8 widening and i32x4.dot_i16x8_s intrinsics the int8 dot products
//   of the quantized kernels are made of; AssemblyScript has SIMD too, but its code generation for
//   them is weaker and it would be one more npm toolchain to pin.
// - The module is ~10 KB and needs no libc (-nostdlib): committing it means `npm ci`, the app and
//   the CLI need no C toolchain at all, while CI (which installs clang and lld) checks that the
//   committed bytes are what these sources build to. The build is deterministic: fixed flags, files
//   in sorted order, no debug info (so no paths) in the output.
// - Two modules from the same sources: kernels.wasm imports a plain memory (one thread, and any page,
//   isolated or not: a shared memory needs SharedArrayBuffer, which browsers give only to
//   cross-origin-isolated pages); kernels-mt.wasm imports a shared memory that worker threads
//   instantiate the same module over. wasm-ld accepts --shared-memory only from objects built with
//   -matomics and -mbulk-memory (its data segments then become passive, initialised once by whichever
//   instance starts first); -mmutable-globals lets it export __stack_pointer, which each thread sets
//   to a stack of its own (every instance would otherwise start on the linker's one stack).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../src/engine/wasm/', import.meta.url));
export const WASM_OUT = join(dir, 'kernels.wasm');
export const WASM_MT_OUT = join(dir, 'kernels-mt.wasm');

/** Compile flags: SIMD128, no libc, memory imported (so JS owns growth; shared later for threads), up to 4 GiB. */
const FLAGS = [
  '--target=wasm32', '-O3', '-msimd128', '-nostdlib', '-Wall', '-Wextra', '-Werror',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--export=__heap_base', '-Wl,--max-memory=4294967296',
  '-Wl,-z,stack-size=65536', '-Wl,--strip-debug',
];
/** The threaded module's additions: a shared memory (see above for why each flag). */
const MT_FLAGS = ['-matomics', '-mbulk-memory', '-mmutable-globals', '-Wl,--shared-memory', '-Wl,--export=__stack_pointer'];

/** Builds the single-thread module to `out` and the threaded one to `outMt`. */
export function buildWasm(out: string, outMt: string): void {
  const c = join(dir, 'c');
  const sources = readdirSync(c).filter((f) => f.endsWith('.c')).sort().map((f) => join(c, f));
  execFileSync('clang', [...FLAGS, '-o', out, ...sources], { stdio: 'inherit' });
  execFileSync('clang', [...FLAGS, ...MT_FLAGS, '-o', outMt, ...sources], { stdio: 'inherit' });
}

export function clangAvailable(): boolean {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
    execFileSync('wasm-ld', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when the committed kernels.wasm and kernels-mt.wasm are exactly what the sources build to. */
export function wasmUpToDate(): boolean {
  const tmp = mkdtempSync(join(tmpdir(), 'tabshard-wasm-'));
  try {
    const out = join(tmp, 'kernels.wasm'), outMt = join(tmp, 'kernels-mt.wasm');
    buildWasm(out, outMt);
    return Buffer.compare(readFileSync(out), readFileSync(WASM_OUT)) === 0
      && Buffer.compare(readFileSync(outMt), readFileSync(WASM_MT_OUT)) === 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!clangAvailable()) {
    console.error('build-wasm: clang and wasm-ld are needed (as root: apt-get install -y clang lld)');
    process.exit(2);
  }
  if (process.argv.includes('--check')) {
    if (!wasmUpToDate()) {
      console.error(`build-wasm: ${WASM_OUT} or ${WASM_MT_OUT} is not what src/engine/wasm/c builds to; run npm run build:wasm`);
      process.exit(1);
    }
    console.log('build-wasm: kernels.wasm and kernels-mt.wasm are up to date');
  } else {
    buildWasm(WASM_OUT, WASM_MT_OUT);
    for (const f of [WASM_OUT, WASM_MT_OUT]) console.log(`build-wasm: wrote ${f} (${readFileSync(f).length} bytes)`);
  }
}
