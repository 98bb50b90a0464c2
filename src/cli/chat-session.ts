// The interactive side of `tabshard chat`: read a line, stream the answer, repeat. Commands: /reset
// (forget the conversation, keep the system prompt), /exit. Ctrl-C while an answer streams stops
// that answer (the partial text stays in the conversation); at the prompt it only reminds how to quit,
// so a Ctrl-C pressed a moment too late never ends the program.
import { createInterface } from 'node:readline';
import type { Conversation, TurnOptions, TurnResult } from '../engine/conversation.ts';

export interface ChatIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Stats and notices (stderr), so stdout holds only the conversation. */
  info: NodeJS.WritableStream;
}

export function turnSummary(r: TurnResult): string {
  const dropped = r.dropped.length ? ` · context full: dropped the ${r.dropped.length} oldest messages` : '';
  return `[${r.promptTokens} prompt tokens: ${r.reusedTokens} reused, ${r.prefilledTokens} prefilled at ${r.prefillTokensPerSecond.toFixed(1)} tok/s · `
    + `${r.tokens.length} generated at ${r.decodeTokensPerSecond.toFixed(1)} tok/s (${r.stoppedBy})${dropped}]`;
}

export async function chatLoop(conv: Conversation, io: ChatIo, turn: TurnOptions): Promise<void> {
  const terminal = (io.input as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input: io.input, output: terminal ? io.output : undefined, terminal, prompt: '> ' });
  let answering: AbortController | undefined;
  const onInterrupt = (): void => {
    if (answering) answering.abort();
    else io.info.write('\n(/exit or Ctrl-D quits)\n');
    if (terminal && !answering) rl.prompt();
  };
  // In a terminal readline turns Ctrl-C into its own event; from a pipe the process gets SIGINT.
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  try {
    if (terminal) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        conv.reset();
        io.info.write('(conversation reset)\n');
      } else if (line) {
        answering = new AbortController();
        try {
          const r = await conv.send(line, { ...turn, signal: answering.signal, onToken: (e) => { if (e.text) io.output.write(e.text); } });
          io.output.write('\n');
          io.info.write(`${turnSummary(r)}\n`);
        } finally {
          answering = undefined;
        }
      }
      if (terminal) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
  }
}
