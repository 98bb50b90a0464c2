// Messages from outside (a JSON file, a widget property): checked once at the boundary, so the
// rest of the engine can trust role and content.
import type { ChatMessage } from '../tokenizer/chat.ts';
import { ChatMessagesError } from './errors.ts';

const ROLES = new Set(['system', 'user', 'assistant']);

/** Accepts `[{role, content}, ...]` or `{ messages: [...] }` (the OpenAI request shape). */
export function parseMessages(value: unknown): ChatMessage[] {
  const list = Array.isArray(value) ? value : (value as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(list)) throw new ChatMessagesError('expected an array of messages or { "messages": [...] }');
  return list.map((m: unknown, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role)) throw new ChatMessagesError(`message ${i}: role must be system, user or assistant, got ${JSON.stringify(role)}`);
    if (typeof content !== 'string') throw new ChatMessagesError(`message ${i}: content must be a string`);
    return { role: role as ChatMessage['role'], content };
  });
}
