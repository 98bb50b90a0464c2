// Shared by the CPU and WebGPU conversation tests: the stories260K fixture with a chat template
// added (the demo model has none), a backend wrapper that records every forward() call, and the
// 3-turn check that turns 2 and 3 prefill exactly their new tokens with from-scratch logits.
import { expect } from 'vitest';
import type { Backend } from '../../src/engine/backend.ts';
import { Conversation, type TurnResult } from '../../src/engine/conversation.ts';
import type { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { GgufValueType, type GgufFile } from '../../src/formats/gguf-types.ts';
import { maxRelRowError } from '../engine/helpers.ts';

/** Role markers in plain text: the 512-token vocabulary has no control tokens to use instead. */
export const TEMPLATE = "{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

export function withTemplate(file: GgufFile, template = TEMPLATE): GgufFile {
  const key = 'tokenizer.chat_template';
  return { ...file, metadata: new Map([...file.metadata, [key, { key, type: GgufValueType.STRING, value: template }]]) };
}

export interface ForwardCall { pos: number; n: number; logits: Float32Array }

/** The backend, with forward() calls recorded (the engine's counters as the test sees them). */
export function recording(backend: Backend): { backend: Backend; calls: ForwardCall[] } {
  const calls: ForwardCall[] = [];
  const proxy = new Proxy(backend, {
    get(target, prop, receiver) {
      if (prop === 'forward') {
        return async (tokens: ArrayLike<number>, pos: number, all?: boolean) => {
          const logits = await target.forward(tokens, pos, all);
          calls.push({ pos, n: tokens.length, logits: logits.slice() });
          return logits;
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { backend: proxy, calls };
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

export interface TurnReport { turn: number; promptTokens: number; reusedTokens: number; prefilledTokens: number; generated: number; logitsRelError?: number }

/**
 * Three turns with a system prompt. For turns 2 and 3: the prefill forward() calls cover exactly the
 * prompt tokens after the common prefix with the cache, the whole previous prompt is among the
 * reused tokens, and the logits after prefill equal a from-scratch prefill on `fresh`.
 */
export async function checkThreeTurns(subject: Backend, tokenizer: Tokenizer, fresh: Backend, tolerance: number): Promise<TurnReport[]> {
  const { backend, calls } = recording(subject);
  const conv = new Conversation(backend, tokenizer, { system: 'You tell short stories.' });
  const reports: TurnReport[] = [];
  let prev: TurnResult | undefined;
  for (const [turn, text] of ['Once upon a time', 'Tell me about the cat.', 'What happened next?'].entries()) {
    calls.length = 0;
    const res = await conv.send(text, { maxTokens: 12 });
    const prompt = conv.chat.renderAndEncode(conv.messages.slice(0, -1)).tokens;
    expect(res.promptTokens).toBe(prompt.length);
    expect(res.context.slice(0, prompt.length)).toEqual(prompt);
    const prefill = calls.filter((c) => c.pos < prompt.length);
    const fed = prefill.reduce((s, c) => s + c.n, 0);
    expect(fed).toBe(res.prefilledTokens);
    expect(res.prefilledTokens + res.reusedTokens).toBe(prompt.length);
    const report: TurnReport = { turn: turn + 1, promptTokens: res.promptTokens, reusedTokens: res.reusedTokens, prefilledTokens: res.prefilledTokens, generated: res.tokens.length };
    if (prev) {
      expect(res.reusedTokens).toBe(Math.min(commonPrefix(prev.context, prompt), prompt.length - 1));
      expect(res.reusedTokens).toBeGreaterThanOrEqual(prev.promptTokens);
      expect(prefill[0]!.pos).toBe(res.reusedTokens);
      fresh.truncate(0);
      const want = await fresh.forward(prompt, 0);
      report.logitsRelError = maxRelRowError(prefill.at(-1)!.logits, want, want.length);
      expect(report.logitsRelError).toBeLessThanOrEqual(tolerance);
    }
    expect(conv.messages.at(-1)).toEqual({ role: 'assistant', content: res.text });
    reports.push(report);
    prev = res;
  }
  expect(conv.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
  return reports;
}
