// `npm run gpu-lab -- <command>`: the GPU lab (bench/gpu-lab.ts) for a machine with a real GPU.
//   pack [--out DIR]   write the one-call bundle (default .gpu-lab/, ignored by git)
//   run [ARGS]         run the benchmark here from the sources (e.g. --size small)
import { pack, GpuLabPackError } from './gpu-lab-pack.ts';

const HELP = `usage: npm run gpu-lab -- <command> [options]

commands:
  pack    write everything one call on the GPU machine needs into one folder (<= 64 MiB):
          the benchmark bundled to bench.mjs (WGSL inlined), Dawn's Node binding, Node itself, the
          Vulkan loader and GL dispatch libraries, and run.sh, the one command to run there
            --out DIR        the folder (default .gpu-lab)
            --xz-level N     xz level for the Node binary (default 6; cached between packs)
            --node PATH      the Node binary to carry (default: this one)
            --no-node        carry no Node (run.sh then uses node from PATH)
            --libs-from DIR  where libvulkan.so.1 and the GL libraries are (default /usr/lib/x86_64-linux-gnu)
            --no-libs        carry no libraries
          then, on the GPU machine: bash .gpu-lab/run.sh [--size small|full]  (JSON and log to $OUT)
  run     run the benchmark here from the sources: the same options as bench.mjs
            (--size small|full, --out FILE, --budget-s SECONDS; --help lists them)`;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || args.includes('--help') && cmd === 'pack') {
    console.log(HELP);
    return cmd ? 0 : 2;
  }
  if (cmd === 'pack') {
    const level = Number(arg(args, '--xz-level') ?? 6);
    if (!Number.isInteger(level) || level < 0 || level > 9) throw new GpuLabPackError(`--xz-level must be 0..9, not ${arg(args, '--xz-level')}`);
    await pack({
      out: arg(args, '--out') ?? '.gpu-lab',
      node: args.includes('--no-node') ? null : arg(args, '--node'),
      xzLevel: level,
      libsFrom: args.includes('--no-libs') ? null : arg(args, '--libs-from'),
    });
    return 0;
  }
  if (cmd === 'run') {
    // The bench module runs itself when it is the main module; here it is imported, so call it.
    const { run, USAGE } = await import('../bench/gpu-lab.ts');
    if (args.includes('--help')) {
      console.log(USAGE);
      return 0;
    }
    const { writeFileSync } = await import('node:fs');
    const file = arg(args, '--out') ?? `gpu-lab-${arg(args, '--size') ?? 'full'}.json`;
    const result = await run(args);
    writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(`wrote ${file}`);
    return result.errors.length ? 1 : 0;
  }
  console.error(`unknown command '${cmd}'\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof GpuLabPackError ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  },
);
