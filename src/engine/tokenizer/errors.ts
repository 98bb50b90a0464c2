// Errors of the tokenizer. They extend the engine's TokenizerError, so callers that catch that keep
// working; tests branch on `err.name`.
import { TokenizerError } from '../errors.ts';

/** tokenizer.ggml.pre names a pre-tokenizer llama.cpp does not know: encoding would silently differ. */
export class UnknownPreTokenizerError extends TokenizerError {
  override name = 'UnknownPreTokenizerError';
  readonly pre: string;

  constructor(pre: string, known: readonly string[]) {
    super(`unknown pre-tokenizer '${pre}' (tokenizer.ggml.pre); known: ${known.join(', ')}`);
    this.pre = pre;
  }
}
