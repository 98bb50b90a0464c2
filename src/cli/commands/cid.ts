// `tabshard cid FILE [--raw-leaves]`: print the CIDs `ipfs add` would give FILE, as JSON on stdout.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse } from '../args.ts';
import { computeCids } from '../../store/cid.ts';

export const summary = 'print the Kubo-compatible CIDs of a file (JSON: cidv0, cidv1, cidv1RawLeaves)';

export const usage = 'tabshard cid FILE [--raw-leaves]';

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'raw-leaves': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, usage);
  if (values.help) {
    console.log(`usage: ${usage}\n\n${summary}.\n--raw-leaves adds cidv1RawLeaves, the CID of \`ipfs add --cid-version=1 --raw-leaves\`.`);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  const file = positionals[0]!;
  if (!(await stat(file)).isFile()) {
    console.error(`tabshard cid: not a file: ${file}`);
    return 2;
  }
  const report = await computeCids(() => createReadStream(file, { highWaterMark: 1 << 20 }), {
    rawLeaves: values['raw-leaves'] === true,
  });
  console.log(JSON.stringify(report));
  return 0;
}
