// The conversation engine on the CPU backend: KV reuse across turns (prefill counts and logits),
// Stop, Regenerate, editing, and dropping the oldest turns when the context is full.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/engine/cpu/index.ts';
import { Conversation } from '../../src/engine/conversation.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { bytesSource } from '../../src/formats/range-source.ts';
import { tokenizerFromGguf } from '../../src/engine/tokenizer/tokenizer.ts';
import { checkThreeTurns, recording, withTemplate } from './conversation-checks.ts';

const bytes = new Uint8Array(readFileSync('test/fixtures/stories260K-f32.gguf'));
const file = parseGguf(bytes);
const tokenizer = tokenizerFromGguf(withTemplate(file));
const cpu = (nCtx?: number) => createCpuBackend(file, bytesSource(bytes), { kv: { mode: 'f32' }, nCtx });

describe('Conversation (CPU)', () => {
  it('turns 2 and 3 prefill only their new tokens, with the logits of a from-scratch prefill', async () => {
    const reports = await checkThreeTurns(await cpu(), tokenizer, await cpu(), 1e-5);
    console.log(`tokens per turn (CPU): ${JSON.stringify(reports)}`);
    expect(reports[1]!.prefilledTokens).toBeLessThan(reports[1]!.promptTokens / 2);
  });

  it('uses the template and says so', async () => {
    const conv = new Conversation(await cpu(), tokenizer);
    const r = await conv.send('Hi', { maxTokens: 2 });
    expect(r.format).toBe('template');
    const plain = new Conversation(await cpu(), tokenizerFromGguf(file));
    expect((await plain.send('Hi', { maxTokens: 2 })).format).toBe('plain');
  });

  it('Stop keeps the partial answer; Regenerate replaces it; editing truncates from there', async () => {
    const { backend, calls } = recording(await cpu());
    const conv = new Conversation(backend, tokenizer, { system: 'S' });
    const ac = new AbortController();
    let n = 0;
    const stopped = await conv.send('Once upon a time', { maxTokens: 30, signal: ac.signal, onToken: () => { if (++n === 3) ac.abort(); } });
    expect(stopped.stoppedBy).toBe('abort');
    expect(stopped.tokens).toHaveLength(3);
    expect(conv.messages.at(-1)).toEqual({ role: 'assistant', content: stopped.text });
    expect(stopped.text.length).toBeGreaterThan(0);

    calls.length = 0;
    const again = await conv.regenerate({ maxTokens: 5 });
    expect(conv.messages).toHaveLength(3);
    expect(conv.messages.at(-1)!.content).toBe(again.text);
    // Greedy: the same answer's start, and only the last prompt token is computed again.
    expect(again.text.startsWith(stopped.text)).toBe(true);
    expect(again.prefilledTokens).toBe(1);

    await conv.send('More', { maxTokens: 3 });
    expect(conv.messages).toHaveLength(5);
    const edited = await conv.edit(1, 'Once upon a time there was', { maxTokens: 3 });
    expect(conv.messages.map((m) => m.content)).toEqual(['S', 'Once upon a time there was', edited.text]);
    expect(() => conv.edit(0, 'x')).toThrow(expect.objectContaining({ name: 'ChatMessagesError' }));
  });

  it('when the context is full, the oldest turns after the system prompt are dropped and reported', async () => {
    const conv = new Conversation(await cpu(96), tokenizer, { system: 'Stories.' });
    const dropped = [];
    for (let i = 0; i < 6; i++) {
      const r = await conv.send(`Turn ${i}: tell me more about the little dog.`, { maxTokens: 16 });
      expect(r.promptTokens + 16).toBeLessThanOrEqual(96);
      dropped.push(...r.dropped);
    }
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0]).toEqual({ role: 'user', content: 'Turn 0: tell me more about the little dog.' });
    expect(conv.messages[0]).toEqual({ role: 'system', content: 'Stories.' });
    expect(conv.messages.at(-2)!.content).toBe('Turn 5: tell me more about the little dog.');
  });
});
