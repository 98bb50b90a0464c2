#!/usr/bin/env node
// The CLI runs the TypeScript sources directly: Node 22 strips types natively (no build step).
import('../src/cli/main.ts').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`${err?.name ?? 'Error'}: ${err?.message ?? err}`);
    process.exitCode = 1;
  },
);
