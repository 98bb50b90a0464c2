// A model's answer as text: fenced code blocks (```lang ... ```) become monospace blocks, the rest
// stays text with its line breaks. Everything goes through lit text bindings, so markup the model
// writes (<script>, <img onerror>) is shown as characters and never becomes HTML.
import { html, type TemplateResult } from 'lit';

export interface AnswerPart {
  kind: 'text' | 'code';
  text: string;
  /** The fence's language tag, for code. */
  lang?: string;
}

/** Splits on ``` fences; an unclosed fence (an answer still streaming) runs to the end as code. */
export function answerParts(text: string): AnswerPart[] {
  const parts: AnswerPart[] = [];
  const fence = /```([^\n`]*)\n?/g;
  let at = 0;
  let open: { lang: string; from: number } | undefined;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    if (!open) {
      if (m.index > at) parts.push({ kind: 'text', text: text.slice(at, m.index) });
      open = { lang: m[1]!.trim(), from: m.index + m[0].length };
    } else {
      parts.push({ kind: 'code', text: text.slice(open.from, m.index).replace(/\n$/, ''), lang: open.lang || undefined });
      open = undefined;
      // A closing fence takes no language: what follows it on the line is ordinary text.
      fence.lastIndex = m.index + 3;
    }
    at = fence.lastIndex;
  }
  if (open) parts.push({ kind: 'code', text: text.slice(open.from), lang: open.lang || undefined });
  else if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) });
  return parts;
}

/** The answer for a `white-space: pre-wrap` container; code blocks carry class "code" (style them monospace). */
export function renderAnswer(text: string): TemplateResult {
  return html`${answerParts(text).map((p) => (p.kind === 'code'
    ? html`<pre class="code" data-lang=${p.lang ?? ''}><code>${p.text}</code></pre>`
    : html`<span>${p.text}</span>`))}`;
}
