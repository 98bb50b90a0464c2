export { Tokenizer, tokenizerFromGguf, type EncodeOptions, type DecodeOptions, type StreamDecoder } from './tokenizer.ts';
export { readVocab, TokenType, type Vocab } from './vocab.ts';
export { detectChatTemplate, formatChat, type ChatMessage, type ChatTemplateKind } from './chat.ts';
export { UnknownPreTokenizerError } from './errors.ts';
export { preTokenizerFor, KNOWN_PRE_TOKENIZERS, type PreTokenizer } from './pretokenizers.ts';
