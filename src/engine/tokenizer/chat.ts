// Chat formatting. We do not run Jinja: the template text in tokenizer.chat_template is only used to
// recognise which well-known format the model was trained on, by a marker it must contain. The
// formatted prompt never includes BOS (encode adds it per add_bos_token) and must be encoded with
// `parseSpecial: true` so the markers become their control tokens.
// Unknown templates (or none) fall back to 'plain': the message contents joined by blank lines,
// with no role markers, then nothing for the generation prompt: the model just continues the text.

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type ChatTemplateKind = 'llama3' | 'chatml' | 'zephyr' | 'llama2' | 'plain';

/** Signature checks, most specific first (a llama-3 template also mentions no [INST], etc.). */
export function detectChatTemplate(template: string | undefined): ChatTemplateKind {
  if (!template) return 'plain';
  if (template.includes('<|start_header_id|>')) return 'llama3';
  if (template.includes('<|im_start|>')) return 'chatml';
  if (template.includes('<|user|>') && template.includes('<|assistant|>')) return 'zephyr';
  if (template.includes('[INST]')) return 'llama2';
  return 'plain';
}

function llama2(messages: readonly ChatMessage[], genPrompt: boolean): string {
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
  // llama-2's prompt already ends where the assistant answers.
  void genPrompt;
  return out;
}

export function formatChat(messages: readonly ChatMessage[], kind: ChatTemplateKind, addGenerationPrompt = true): string {
  switch (kind) {
    case 'llama3':
      return messages.map((m) => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content.trim()}<|eot_id|>`).join('')
        + (addGenerationPrompt ? '<|start_header_id|>assistant<|end_header_id|>\n\n' : '');
    case 'chatml':
      return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('')
        + (addGenerationPrompt ? '<|im_start|>assistant\n' : '');
    case 'zephyr':
      return messages.map((m) => `<|${m.role}|>\n${m.content}</s>\n`).join('') + (addGenerationPrompt ? '<|assistant|>\n' : '');
    case 'llama2':
      return llama2(messages, addGenerationPrompt);
    case 'plain':
      return messages.map((m) => m.content).join('\n\n');
  }
}
