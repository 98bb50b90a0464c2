// Built-in chat formats: the fallback when a model's own Jinja template is missing or cannot be
// rendered (src/engine/chat/ renders the template; this file only knows fixed formats). The format
// is chosen as llama.cpp's llm_chat_detect_template does, by markers the template text contains;
// a file with no template at all is matched against the control tokens of its vocabulary instead.
// The formatted prompt never includes BOS (encode adds it per add_bos_token) and must be encoded
// with `parseSpecial: true` so the markers become their control tokens. 'plain' joins the message
// contents by blank lines with no role markers (answers follow their prompt directly): a base
// model just continues the text.

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** In llama.cpp's detection order. */
export const CHAT_TEMPLATE_KINDS = ['chatml', 'llama3', 'gemma', 'phi3', 'mistral', 'zephyr', 'llama2', 'plain'] as const;
export type ChatTemplateKind = (typeof CHAT_TEMPLATE_KINDS)[number];

type Has = (marker: string) => boolean;

/** Per format: does a template (or vocabulary) with these markers use it? Checked in order. */
const SIGNATURES: ReadonlyArray<readonly [ChatTemplateKind, (has: Has) => boolean]> = [
  ['chatml', (has) => has('<|im_start|>')],
  ['llama3', (has) => has('<|start_header_id|>') && has('<|end_header_id|>')],
  ['gemma', (has) => has('<start_of_turn>')],
  ['phi3', (has) => has('<|assistant|>') && has('<|end|>')],
  // As llama.cpp tells Mistral's [INST] formats from Llama 2's: by markers only Mistral's templates
  // (and v3+ vocabularies) have; every other [INST] template is a Llama 2 variant.
  ['mistral', (has) => has('[INST]') && (has('[SYSTEM_PROMPT]') || has('[AVAILABLE_TOOLS]') || has("' [INST] ' + system_message"))],
  ['zephyr', (has) => has('<|user|>')],
  ['llama2', (has) => has('[INST]')],
];

function detect(has: Has): ChatTemplateKind {
  return SIGNATURES.find(([, sig]) => sig(has))?.[0] ?? 'plain';
}

/** The built-in format a template's text points to ('plain' for none or an unknown one). */
export function detectChatTemplate(template: string | undefined): ChatTemplateKind {
  return template ? detect((m) => template.includes(m)) : 'plain';
}

/** For files without a template: the format whose markers are all tokens of the vocabulary. */
export function detectChatFormatFromVocab(hasToken: Has): ChatTemplateKind {
  return detect(hasToken);
}

/** Moves a leading system message into the first user message (formats with no system role). */
function foldSystem(messages: readonly ChatMessage[], join: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  let system = '';
  for (const m of messages) {
    if (m.role === 'system') system += m.content + join;
    else if (m.role === 'user' && system) { out.push({ role: 'user', content: system + m.content }); system = ''; }
    else out.push(m);
  }
  return out;
}

function llama2(messages: readonly ChatMessage[]): string {
  let out = '';
  let system = '';
  let first = true;
  for (const m of messages) {
    if (m.role === 'system') { system = m.content; continue; }
    if (m.role === 'user') {
      // The system prompt goes inside the first [INST] block; every turn after the first starts with <s>.
      const sys = system ? `<<SYS>>\n${system}\n<</SYS>>\n\n` : '';
      out += `${first ? '' : '<s>'}[INST] ${sys}${m.content.trim()} [/INST]`;
      system = '';
      first = false;
    } else {
      out += ` ${m.content.trim()} </s>`;
    }
  }
  // Llama 2's prompt already ends where the assistant answers: there is no generation prompt.
  return out;
}

function mistral(messages: readonly ChatMessage[]): string {
  return foldSystem(messages, '\n\n')
    .map((m) => (m.role === 'user' ? `[INST] ${m.content.trim()}[/INST]` : ` ${m.content.trim()}</s>`))
    .join('');
}

export function formatChat(messages: readonly ChatMessage[], kind: ChatTemplateKind, addGenerationPrompt = true): string {
  const gen = (s: string): string => (addGenerationPrompt ? s : '');
  switch (kind) {
    case 'chatml':
      return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + gen('<|im_start|>assistant\n');
    case 'llama3':
      return messages.map((m) => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content.trim()}<|eot_id|>`).join('')
        + gen('<|start_header_id|>assistant<|end_header_id|>\n\n');
    case 'gemma':
      // Gemma has no system role: the system prompt opens the first user turn.
      return foldSystem(messages, '\n\n')
        .map((m) => `<start_of_turn>${m.role === 'assistant' ? 'model' : m.role}\n${m.content.trim()}<end_of_turn>\n`).join('')
        + gen('<start_of_turn>model\n');
    case 'phi3':
      return messages.map((m) => `<|${m.role}|>\n${m.content}<|end|>\n`).join('') + gen('<|assistant|>\n');
    case 'mistral':
      return mistral(messages);
    case 'zephyr':
      // Zephyr's own template ends turns with eos_token, which is </s> in its vocabulary.
      return messages.map((m) => `<|${m.role}|>\n${m.content}</s>\n`).join('') + gen('<|assistant|>\n');
    case 'llama2':
      return llama2(messages);
    case 'plain':
      // An answer continues the text before it (that is how a base model wrote it), so a later
      // turn renders it exactly as the model's cache holds it; other messages open a paragraph.
      return messages.map((m, i) => (i === 0 || m.role === 'assistant' ? m.content : `\n\n${m.content}`)).join('');
  }
}
