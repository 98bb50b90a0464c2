// The CLI entry: each command lives in ./commands/<name>.ts and exports `run(args): Promise<number>`
// plus a one-line `summary`. Commands load lazily so `tabshard caps` never pays for the store, etc.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Command {
  summary: string;
  /** The usage line(s); main answers `--help` / `-h` with it. Commands without one handle --help themselves. */
  usage?: string;
  run(args: string[]): Promise<number>;
}

const HELP = new Set(['--help', '-h']);

const commandsDir = fileURLToPath(new URL('./commands/', import.meta.url));

function commandFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(commandsDir)) {
    if (f.endsWith('.ts')) out.set(f.slice(0, -3), new URL(`./commands/${f}`, import.meta.url).href);
  }
  return out;
}

async function usage(files: Map<string, string>): Promise<string> {
  const lines = ['usage: tabshard <command> [options]', '', 'commands:'];
  for (const [name, href] of [...files].sort()) {
    const mod = (await import(href)) as Command;
    lines.push(`  ${name.padEnd(18)} ${mod.summary}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const files = commandFiles();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage(files));
    return name ? 0 : 2;
  }
  const href = files.get(name);
  if (!href) {
    console.error(`tabshard: unknown command '${name}'\n\n${await usage(files)}`);
    return 2;
  }
  const mod = (await import(href)) as Command;
  // Answered here, before the command parses flags or checks required ones (`generate --help` must not be an error).
  if (mod.usage !== undefined && rest.some((a) => HELP.has(a))) {
    console.log(`usage: ${mod.usage}\n\n${mod.summary}`);
    return 0;
  }
  return mod.run(rest);
}
