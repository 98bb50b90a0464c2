// `tabshard publish FILE|DIR --name NAME --version SEMVER [--tag T]... [--task T]... [--store DIR] [--cidv0]`:
// import a model into the local store, write its CAR, add it to the registry; prints the entry.
// A directory (a transformers.js model folder) becomes one UnixFS directory entry listing its files.
import { statSync } from 'node:fs';
import { parse } from '../args.ts';
import { publish, type PublishProgress } from '../../store/publish.ts';
import { publishDir } from '../../store/publish-dir.ts';

export const summary = 'import a model file into the local store, write its CAR and registry entry';

export const usage = 'tabshard publish FILE|DIR --name NAME --version SEMVER [--tag T]... [--task T]... [--store DIR] [--cidv0]';

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** A one-line progress bar on stderr (bytes, rate, ETA), redrawn at most ~10 times a second. */
function progressBar(): (e: PublishProgress) => void {
  const started = performance.now();
  let last = 0;
  return (e) => {
    const now = performance.now();
    if (e.phase !== 'import' || (now - last < 100 && e.bytes < e.total)) return;
    last = now;
    const secs = (now - started) / 1000;
    const rate = secs > 0 ? e.bytes / secs : 0;
    const frac = e.total > 0 ? e.bytes / e.total : 1;
    const width = 30;
    const filled = Math.round(frac * width);
    const eta = rate > 0 ? Math.ceil((e.total - e.bytes) / rate) : 0;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${human(e.bytes)} / ${human(e.total)}  ${human(rate)}/s  ETA ${eta}s`;
    process.stderr.write(`\r${line}\x1b[K${e.bytes >= e.total ? '\n' : ''}`);
  };
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      name: { type: 'string' },
      version: { type: 'string' },
      tag: { type: 'string', multiple: true },
      task: { type: 'string', multiple: true },
      store: { type: 'string' },
      cidv0: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
  );
  if (values.help) {
    console.log(`usage: ${usage}\n\n${summary}. Default store: .store; default DAG: CIDv1 raw leaves (--cidv0 for ipfs add defaults).`);
    return 0;
  }
  if (positionals.length !== 1 || !values.name || !values.version) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const common = {
      name: values.name,
      version: values.version,
      tags: values.tag ?? [],
      storeDir: values.store ?? '.store',
      rawLeaves: values.cidv0 !== true,
      signal: ac.signal,
    };
    const result = statSync(positionals[0]!).isDirectory()
      ? await publishDir(positionals[0]!, { ...common, tasks: values.task })
      : await publish(positionals[0]!, { ...common, onProgress: process.stderr.isTTY ? progressBar() : undefined });
    console.log(JSON.stringify({ ...result.entry, car: result.carPath, registry: result.registryPath }, null, 2));
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
