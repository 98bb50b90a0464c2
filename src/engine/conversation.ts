// A conversation with one model: a list of messages, rendered whole by the model's chat template at
// every turn. The backend's KV cache keeps what it computed for the previous turns, and the generate
// loop keeps the longest common token prefix of that and the new prompt, so a turn prefills only
// its new tokens (reported per turn as reusedTokens / prefilledTokens).
//
// Policies (documented choices):
// - Stop (abort) keeps the partial answer as the assistant's message, even an empty one, so roles
//   keep alternating (templates such as Gemma's refuse two user turns in a row).
// - When prompt + maxTokens would not fit the context, the oldest turns after the system prompt
//   (a user message and the answers up to the next one) are dropped from the conversation for good
//   and listed in the result's `dropped`; the last user message is never dropped (if it alone does
//   not fit, generate's ContextOverflowError is thrown and the conversation is left as it was).
// - The conversation assumes it alone uses the backend's cache; after using the backend for
//   anything else, call forgetCache() (the next turn then prefills from position 0).
import type { Backend } from './backend.ts';
import { ChatFormat, type ChatFormatName, type ChatFormatOptions, type EncodedChat } from './chat/prompt.ts';
import { ChatMessagesError } from './chat/errors.ts';
import { generateStream, type GenerateOptions, type GenerateResult } from './generate.ts';
import type { ChatMessage } from './tokenizer/chat.ts';
import type { Tokenizer } from './tokenizer/tokenizer.ts';

export type TurnOptions = Pick<GenerateOptions, 'maxTokens' | 'sampling' | 'stop' | 'signal' | 'onToken' | 'prefillBatch'>;

export interface TurnResult extends GenerateResult {
  /** 'template' (the model's own) or the built-in format used instead. */
  format: ChatFormatName;
  templateError?: string;
  /** Prompt tokens computed this turn (promptTokens - reusedTokens). */
  prefilledTokens: number;
  /** Messages removed to make room, oldest first (empty when everything fit). */
  dropped: ChatMessage[];
}

export interface ConversationOptions {
  system?: string;
  /** Messages to start from (after the system prompt, if one is given). */
  messages?: readonly ChatMessage[];
  format?: ChatFormatOptions;
  /** What the backend's KV cache holds now (e.g. from an earlier conversation object); default none. */
  cachedTokens?: readonly number[];
}

/** Lets timers, I/O and signals run (the CPU backend computes a token without ever leaving the microtask queue). */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (g.setImmediate) return new Promise((resolve) => g.setImmediate!(resolve));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { ch.port1.close(); resolve(); };
    ch.port2.postMessage(null);
  });
}

/** Drives the stream to its result; with an abort signal, lets the event loop run between tokens so the abort can arrive. */
async function runTurn(stream: AsyncGenerator<unknown, GenerateResult>, abortable: boolean): Promise<GenerateResult> {
  for (;;) {
    const r = await stream.next();
    if (r.done) return r.value;
    if (abortable) await yieldToEventLoop();
  }
}

export class Conversation {
  readonly backend: Backend;
  readonly tokenizer: Tokenizer;
  readonly chat: ChatFormat;
  private list: ChatMessage[];
  /** Tokens whose keys/values the backend's cache holds, from position 0. */
  private cached: number[] = [];
  private busy = false;

  constructor(backend: Backend, tokenizer: Tokenizer, o: ConversationOptions = {}) {
    this.backend = backend;
    this.tokenizer = tokenizer;
    this.chat = new ChatFormat(tokenizer, o.format);
    this.list = [];
    this.reset(o.system);
    this.list.push(...(o.messages ?? []).map((m) => ({ ...m })));
    this.cached = [...(o.cachedTokens ?? [])];
  }

  /** Tokens the backend's KV cache holds for this conversation (pass on as cachedTokens). */
  get cachedTokens(): readonly number[] { return this.cached; }

  get messages(): readonly ChatMessage[] { return this.list; }

  get system(): string | undefined { return this.list[0]?.role === 'system' ? this.list[0].content : undefined; }

  /** Replace the messages (the cache is kept: a shared prefix is still reused). */
  setMessages(messages: readonly ChatMessage[]): void {
    this.idle();
    this.list = messages.map((m) => ({ ...m }));
  }

  /** Start over, keeping `system` (default: the current system prompt; '' for none). */
  reset(system: string | undefined = this.system): void {
    this.idle();
    this.list = system ? [{ role: 'system', content: system }] : [];
  }

  /** The backend's cache was used for something else: do not trust it any more. */
  forgetCache(): void { this.cached = []; }

  /** Append a user message and answer it. */
  send(content: string, o: TurnOptions = {}): Promise<TurnResult> {
    this.idle();
    this.list.push({ role: 'user', content });
    return this.respond(o);
  }

  /** Replace the last answer with a new one. */
  regenerate(o: TurnOptions = {}): Promise<TurnResult> {
    this.idle();
    if (this.list.at(-1)?.role !== 'assistant') throw new ChatMessagesError('nothing to regenerate: the last message is not an answer');
    this.list.pop();
    return this.respond(o);
  }

  /** Change the user message at `index`, forget everything after it, and answer it. */
  edit(index: number, content: string, o: TurnOptions = {}): Promise<TurnResult> {
    this.idle();
    if (this.list[index]?.role !== 'user') throw new ChatMessagesError(`message ${index} is not a user message`);
    this.list = [...this.list.slice(0, index), { role: 'user', content }];
    return this.respond(o);
  }

  /** Answer the conversation as it stands (its last message must be the user's). */
  async respond(o: TurnOptions = {}): Promise<TurnResult> {
    this.idle();
    if (this.list.at(-1)?.role !== 'user') throw new ChatMessagesError('the conversation must end with a user message');
    this.busy = true;
    try {
      const maxTokens = o.maxTokens ?? 128;
      const { prompt, kept, dropped } = this.fit(maxTokens);
      const res = await runTurn(generateStream(this.backend, this.tokenizer, {
        ...o, maxTokens, tokens: prompt.tokens, cachedTokens: this.cached, context: 'clamp',
      }), o.signal !== undefined);
      this.cached = res.context;
      this.list = [...kept, { role: 'assistant', content: res.text }];
      return {
        ...res, format: prompt.format, templateError: prompt.templateError,
        prefilledTokens: res.promptTokens - res.reusedTokens, dropped,
      };
    } catch (err) {
      // The cache may hold part of a prefill that did not finish: trust only what generate reported.
      this.cached = [];
      throw err;
    } finally {
      this.busy = false;
    }
  }

  /** The prompt for the messages, after dropping the oldest turns while it and maxTokens do not fit. */
  private fit(maxTokens: number): { prompt: EncodedChat; kept: ChatMessage[]; dropped: ChatMessage[] } {
    const nCtx = this.backend.config.nCtx;
    let kept = this.list;
    const dropped: ChatMessage[] = [];
    let prompt = this.chat.renderAndEncode(kept);
    for (;;) {
      if (prompt.tokens.length + maxTokens <= nCtx) break;
      const first = kept[0]?.role === 'system' ? 1 : 0;
      // The turn to drop: the first user message after the system prompt and what follows it up to
      // the next user message; never the last user message.
      let next = first + 1;
      while (next < kept.length && kept[next]!.role !== 'user') next++;
      if (next >= kept.length) break;
      dropped.push(...kept.slice(first, next));
      kept = [...kept.slice(0, first), ...kept.slice(next)];
      prompt = this.chat.renderAndEncode(kept);
    }
    return { prompt, kept, dropped };
  }

  private idle(): void {
    if (this.busy) throw new ChatMessagesError('the conversation is answering: stop or wait for the answer first');
  }
}
