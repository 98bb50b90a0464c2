// `npm run bench -- <suite> [--out FILE]`: each suite is bench/<suite>.ts exporting `run(args)`,
// which prints its ratios and returns a JSON-able result, written to bench/results/<suite>-<time>.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const here = new URL('./', import.meta.url);
// Files starting with '_' are helpers, not suites.
const suites = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_')).map((f) => f.slice(0, -3));
let [suite, ...rest] = process.argv.slice(2);
// `shard --app`: the room through the app's pages (bench/shard-app.ts) rather than the Node figures.
if (suite === 'shard' && rest.includes('--app')) {
  suite = 'shard-app';
  rest = rest.filter((a) => a !== '--app');
}
if (!suite || !suites.includes(suite)) {
  console.error(`usage: npm run bench -- <${suites.join('|')}> [--out FILE]`);
  process.exit(2);
}
const outIdx = rest.indexOf('--out');
const out = outIdx >= 0 ? rest.splice(outIdx, 2)[1] : `bench/results/${suite}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
const mod = (await import(new URL(`./${suite}.ts`, here).href)) as { run(args: string[]): Promise<unknown> };
const result = await mod.run(rest);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ suite, date: new Date().toISOString(), node: process.version, result }, null, 2));
console.log(`wrote ${out}`);
process.exit(0);
