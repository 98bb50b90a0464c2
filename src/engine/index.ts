// The engine's browser-safe public API in one import. Node-only helpers live in ./node/ and the
// WebGPU backend in ./gpu/ (imported lazily by callers that want it).
export type { Backend, LlamaConfig, MemoryReport } from './backend.ts';
export * from './errors.ts';
export { configFromGguf, SUPPORTED_ARCHITECTURES } from './config.ts';
export { sliceWeights, sliceBytes, layerWeights, layerTensorName, expectedShape, fullSlice, LAYER_ROLES, type WeightRef, type SliceSpec, type LayerRole } from './weights.ts';
export { createCpuBackend, type CpuBackendOptions } from './cpu/index.ts';
export { Tokenizer, tokenizerFromGguf, detectChatTemplate, formatChat, type ChatMessage, type ChatTemplateKind, type StreamDecoder } from './tokenizer/index.ts';
export { createSampler, seededRandom, type Sampler, type SamplingOptions } from './sampler.ts';
export { generate, generateStream, type GenerateOptions, type GenerateResult, type TokenEvent, type StopReason } from './generate.ts';
export { Conversation, type ConversationOptions, type TurnOptions, type TurnResult } from './conversation.ts';
export { ChatFormat, parseMessages, ChatMessagesError, ChatTemplateError, type ChatFormatName, type RenderedChat, type EncodedChat } from './chat/index.ts';
export { perplexity, kld, type PerplexityResult, type KldResult } from './eval.ts';
export { convertLlama2c, readLlama2cHeader } from './llama2c.ts';
