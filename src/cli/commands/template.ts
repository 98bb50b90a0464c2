// `tabshard template FILE.gguf --messages FILE.json`: the prompt text the model would read for this
// conversation (its own chat template, add_generation_prompt on), printed exactly: no newline added.
import { readFile } from 'node:fs/promises';
import { parse, UsageError } from '../args.ts';
import { ChatFormat } from '../../engine/chat/prompt.ts';
import { parseMessages } from '../../engine/chat/messages.ts';
import { openModel } from '../../engine/node/model.ts';
import { tokenizerFromGguf } from '../../engine/tokenizer/index.ts';

export const summary = "render a conversation with a model's chat template (the exact prompt text)";

export const usage = 'tabshard template FILE.gguf|NAME@VERSION --messages FILE.json [--store DIR] [--json]\n'
  + '  FILE.json: [{"role": "system"|"user"|"assistant", "content": "..."}, ...] or {"messages": [...]}\n'
  + '  --json: {text, format, templateError?, tokens} instead of the bare text (format "template" or the built-in one used)';

export async function readMessagesFile(path: string) {
  return parseMessages(JSON.parse(await readFile(path, 'utf8')) as unknown);
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    messages: { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean' }
  }, usage);
  const [spec] = positionals;
  if (!spec || positionals.length !== 1 || !values.messages) throw new UsageError(`template takes one model and --messages FILE.json\nusage: ${usage}`);
  const messages = await readMessagesFile(values.messages);
  const model = await openModel(spec, { storeDir: values.store });
  try {
    const chat = new ChatFormat(tokenizerFromGguf(model.file));
    const r = chat.render(messages, true);
    if (values.json) console.log(JSON.stringify({ ...r, tokens: chat.encode(r.text).length }));
    else process.stdout.write(r.text);
    if (r.templateError) process.stderr.write(`tabshard template: the model's template failed (${r.templateError}); used the built-in '${r.format}' format\n`);
    return 0;
  } finally {
    await model.close();
  }
}
