// The chat, answered by a shard room: the same request the engine worker answers
// (EngineGenerateOptions: a conversation or a raw prompt), run by the generate loop on the
// session's Coordinator in this thread. The coordinator keeps its KV cache between turns, so a turn
// prefills only what is new, as in the worker; a new coordinator (peers joined) starts from nothing.
import { Conversation } from '../engine/conversation.ts';
import { generate, type TokenEvent } from '../engine/generate.ts';
import type { Tokenizer } from '../engine/tokenizer/tokenizer.ts';
import type { EngineGenerateOptions, EngineGenerateResult } from '../workers/engine-api.ts';
import type { Coordinator } from './coordinator.ts';
import type { PlanChoice, ShareSession } from './session.ts';

export type GenerateVia = (opts: Omit<EngineGenerateOptions, 'callId'>, onToken?: (e: TokenEvent) => void, signal?: AbortSignal) => Promise<EngineGenerateResult>;

/** A generate function over `session`; `choice` is read at each answer (the panel's settings). */
export function sessionGenerate(session: ShareSession, tokenizer: Tokenizer, choice: () => PlanChoice): GenerateVia {
  let cached: { coord: Coordinator; tokens: number[] } | undefined;
  return async (opts, onToken, signal) => {
    const coord = await session.coordinator({ ...choice(), signal });
    const context = cached?.coord === coord ? cached.tokens : [];
    cached = undefined; // until this turn ends, the cache holds an unknown prefix
    const turn = {
      maxTokens: opts.maxTokens, sampling: opts.sampling, stop: opts.stop, signal,
      onToken: (e: TokenEvent) => { session.countToken(); onToken?.(e); },
    };
    if (opts.messages) {
      const conv = new Conversation(coord, tokenizer, { messages: opts.messages, cachedTokens: context });
      const res = await conv.respond(turn);
      cached = { coord, tokens: [...conv.cachedTokens] };
      return { ...res, messages: [...conv.messages] };
    }
    const res = await generate(coord, tokenizer, { ...turn, prompt: opts.prompt ?? '', cachedTokens: context, context: 'clamp' });
    cached = { coord, tokens: res.context };
    return res;
  };
}
