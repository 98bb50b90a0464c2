// `tabshard chat --model M [--system S]`: a conversation in the terminal with the model's own chat
// template, each turn reusing the KV cache of the ones before. With --messages FILE.json it answers
// that conversation once instead (--json: one JSON object with the answer and the turn's counts).
import { parse, UsageError } from '../args.ts';
import { chatLoop, turnSummary } from '../chat-session.ts';
import { GENERATION_FLAGS, GENERATION_USAGE, loadFromFlags, samplingFrom } from '../generation-flags.ts';
import { Conversation, type TurnOptions } from '../../engine/conversation.ts';
import { num } from './generate.ts';
import { readMessagesFile } from './template.ts';

export const summary = "chat with a model in the terminal (its chat template, KV cache reused across turns)";

export const usage = `tabshard chat --model FILE|NAME@VERSION [--system TEXT] [--messages FILE.json [--json]] ${GENERATION_USAGE}\n`
  + '  interactive: /reset forgets the conversation (keeps --system), /exit quits; Ctrl-C stops an answer\n'
  + '  --messages: answer that conversation (as for tabshard template) and exit; --json prints the result as JSON';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    ...GENERATION_FLAGS, system: { type: 'string', short: 's' }, messages: { type: 'string' },
    json: { type: 'boolean' }
  }, usage);
  const modelSpec = values.model;
  if (!modelSpec) throw new UsageError(`--model is required\nusage: ${usage}`);
  if (values.json && !values.messages) throw new UsageError(`--json needs --messages FILE.json\nusage: ${usage}`);
  const messages = values.messages ? await readMessagesFile(values.messages) : [];
  const turn: TurnOptions = { maxTokens: num(values['max-tokens'], 'max-tokens', true) ?? 256, sampling: samplingFrom(values), stop: values.stop };
  const loaded = await loadFromFlags({ ...values, model: modelSpec });
  try {
    const system = messages[0]?.role === 'system' ? undefined : values.system;
    const conv = new Conversation(loaded.backend, loaded.tokenizer, { system, messages });
    if (!values.messages) {
      process.stderr.write(`[${loaded.model.label} on ${loaded.backend.kind}; prompt format: ${conv.chat.render([]).format}]\n`);
      await chatLoop(conv, { input: process.stdin, output: process.stdout, info: process.stderr }, turn);
      return 0;
    }
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      const json = values.json ?? false;
      const r = await conv.respond({ ...turn, signal: ac.signal, onToken: json ? undefined : (e) => { if (e.text) process.stdout.write(e.text); } });
      if (json) {
        console.log(JSON.stringify({
          text: r.text, tokens: r.tokens, stoppedBy: r.stoppedBy, format: r.format, templateError: r.templateError,
          promptTokens: r.promptTokens, reusedTokens: r.reusedTokens, prefilledTokens: r.prefilledTokens,
          prefillTokensPerSecond: r.prefillTokensPerSecond, decodeTokensPerSecond: r.decodeTokensPerSecond,
          dropped: r.dropped, messages: conv.messages, backend: loaded.backend.kind, model: loaded.model.label,
        }));
      } else {
        process.stdout.write('\n');
        process.stderr.write(`${turnSummary(r)}\n`);
      }
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  } finally {
    await loaded.close();
  }
}
