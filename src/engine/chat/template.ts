// Renders a model's own chat template (tokenizer.chat_template, Jinja) with @huggingface/jinja, the
// engine transformers.js uses, with the variables Hugging Face's apply_chat_template passes:
// messages, add_generation_prompt, bos_token, eos_token, plus the raise_exception and strftime_now
// globals. Whitespace control (trim_blocks, lstrip_blocks) is built into that engine as in HF.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import type { ChatMessage } from '../tokenizer/chat.ts';
import { ChatTemplateError } from './errors.ts';

export interface TemplateVariables {
  addGenerationPrompt: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Clock for strftime_now (tests pin it); default: now. */
  now?: () => Date;
}

// Parsing a template costs more than rendering it, and a conversation renders the same one every turn.
let cached: { source: string; template: Template } | undefined;

function parsed(source: string): Template {
  if (cached?.source !== source) cached = { source, template: new Template(source) };
  return cached.template;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The strftime directives chat templates use (Llama 3.x writes "%d %b %Y"). */
export function strftime(d: Date, format: string): string {
  return format.replace(/%([a-zA-Z%])/g, (all, c: string) => {
    switch (c) {
      case 'Y': return String(d.getFullYear());
      case 'm': return pad(d.getMonth() + 1);
      case 'd': return pad(d.getDate());
      case 'H': return pad(d.getHours());
      case 'M': return pad(d.getMinutes());
      case 'S': return pad(d.getSeconds());
      case 'B': return MONTHS[d.getMonth()]!;
      case 'b': return MONTHS[d.getMonth()]!.slice(0, 3);
      case 'A': return DAYS[d.getDay()]!;
      case 'a': return DAYS[d.getDay()]!.slice(0, 3);
      case 'j': return pad(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1, 3);
      case '%': return '%';
      default: return all;
    }
  });
}

/** 1, 2 or 3 arguments, as Python's range. */
function range(a: number, b?: number, step = 1): number[] {
  const [start, stop] = b === undefined ? [0, a] : [a, b];
  if (step === 0) throw new ChatTemplateError('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/**
 * The globals @huggingface/jinja's Template.render sets up (it lets no caller replace them), with
 * our raise_exception (a named error) and strftime_now (an injectable clock) instead of its own.
 */
function environment(v: TemplateVariables, messages: readonly ChatMessage[]): Environment {
  const env = new Environment();
  const vars: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null, range,
    raise_exception: (message?: string) => { throw new ChatTemplateError(`the template refused: ${message ?? ''}`); },
    strftime_now: (format: string) => strftime((v.now ?? (() => new Date()))(), format),
    // Plain copies: the renderer must not see (or keep) the caller's objects.
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: v.addGenerationPrompt,
    bos_token: v.bosToken ?? '',
    eos_token: v.eosToken ?? '',
  };
  for (const [k, val] of Object.entries(vars)) env.set(k, val);
  return env;
}

/** Renders the template; throws ChatTemplateError (with the cause) when it cannot. */
export function renderTemplate(source: string, messages: readonly ChatMessage[], v: TemplateVariables): string {
  try {
    const result = new Interpreter(environment(v, messages)).run(parsed(source).parsed);
    return String(result.value);
  } catch (err) {
    if (err instanceof ChatTemplateError) throw err;
    throw new ChatTemplateError(`chat template failed: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
}
