// A conversation as the model reads it: the messages rendered by the model's own template (or a
// built-in format when it has none or the template fails), then encoded with control tokens parsed
// and BOS exactly once: templates that write bos_token themselves get no second one from encode.
import {
  detectChatFormatFromVocab, detectChatTemplate, formatChat, type ChatMessage, type ChatTemplateKind,
} from '../tokenizer/chat.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { TokenType } from '../tokenizer/vocab.ts';
import { renderTemplate } from './template.ts';

/** 'template': the model's own Jinja template; otherwise the built-in format used instead. */
export type ChatFormatName = 'template' | ChatTemplateKind;

export interface RenderedChat {
  text: string;
  format: ChatFormatName;
  /** Why the model's template was not used, when it has one and it failed. */
  templateError?: string;
}

export interface EncodedChat extends RenderedChat {
  tokens: number[];
}

export interface ChatFormatOptions {
  /** Use this template instead of the model's (undefined: the model's). */
  template?: string;
  /** Force a built-in format (skips the template). */
  builtin?: ChatTemplateKind;
  /** Clock for strftime_now. */
  now?: () => Date;
}

export class ChatFormat {
  private readonly tokenizer: Tokenizer;
  private readonly template: string | undefined;
  private readonly builtin: ChatTemplateKind;
  private readonly now: (() => Date) | undefined;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;

  constructor(tokenizer: Tokenizer, o: ChatFormatOptions = {}) {
    this.tokenizer = tokenizer;
    this.template = o.builtin ? undefined : (o.template ?? tokenizer.chatTemplate);
    this.now = o.now;
    const v = tokenizer.vocab;
    this.bosToken = v.bos !== undefined ? v.tokens[v.bos] : undefined;
    this.eosToken = v.eos !== undefined ? v.tokens[v.eos] : undefined;
    const special = (t: string): boolean => {
      const id = v.ids.get(t);
      return id !== undefined && (v.types[id] === TokenType.CONTROL || v.types[id] === TokenType.USER_DEFINED);
    };
    this.builtin = o.builtin ?? (this.template ? detectChatTemplate(this.template) : detectChatFormatFromVocab(special));
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt = true): RenderedChat {
    let templateError: string | undefined;
    if (this.template) {
      try {
        const text = renderTemplate(this.template, messages, { addGenerationPrompt, bosToken: this.bosToken, eosToken: this.eosToken, now: this.now });
        return { text, format: 'template' };
      } catch (err) {
        templateError = (err as Error).message;
      }
    }
    return { text: formatChat(messages, this.builtin, addGenerationPrompt), format: this.builtin, templateError };
  }

  /** Token ids of the rendered text, BOS once; a trailing EOS from add_eos_token is dropped (the model answers next). */
  encode(text: string): number[] {
    const v = this.tokenizer.vocab;
    const hasBos = this.bosToken !== undefined && this.bosToken.length > 0 && text.startsWith(this.bosToken);
    const tokens = this.tokenizer.encode(text, { parseSpecial: true, addBos: v.addBos && !hasBos });
    if (v.addEos && tokens.at(-1) === v.eos && !(this.eosToken && text.endsWith(this.eosToken))) tokens.pop();
    return tokens;
  }

  renderAndEncode(messages: readonly ChatMessage[], addGenerationPrompt = true): EncodedChat {
    const r = this.render(messages, addGenerationPrompt);
    return { ...r, tokens: this.encode(r.text) };
  }
}
