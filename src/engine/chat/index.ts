export { ChatFormat, type ChatFormatName, type ChatFormatOptions, type EncodedChat, type RenderedChat } from './prompt.ts';
export { renderTemplate, strftime, type TemplateVariables } from './template.ts';
export { parseMessages } from './messages.ts';
export { ChatMessagesError, ChatTemplateError } from './errors.ts';
export { CHAT_TEMPLATE_KINDS, detectChatTemplate, formatChat, type ChatMessage, type ChatTemplateKind } from '../tokenizer/chat.ts';
