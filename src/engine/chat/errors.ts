// Errors of the chat module. Callers and tests branch on `err.name`.

/** A chat template failed to parse or render (raise_exception, bad syntax, wrong message shape). */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

/** A list of messages is not what a conversation can hold (bad JSON, unknown role, no content). */
export class ChatMessagesError extends Error {
  override name = 'ChatMessagesError';
}
