import { describe, expect, it } from 'vitest';
import { answerParts } from '../../src/ui/answer-text.ts';

describe('answerParts', () => {
  it('splits fenced code from text, keeps markup as text', () => {
    expect(answerParts('Run:\n```js\nalert(1)\n```\nthen <script>x</script>')).toEqual([
      { kind: 'text', text: 'Run:\n' },
      { kind: 'code', text: 'alert(1)', lang: 'js' },
      { kind: 'text', text: '\nthen <script>x</script>' },
    ]);
  });
  it('an unclosed fence (still streaming) is code to the end; no fences is one text part', () => {
    expect(answerParts('a\n```\nb')).toEqual([{ kind: 'text', text: 'a\n' }, { kind: 'code', text: 'b', lang: undefined }]);
    expect(answerParts('plain')).toEqual([{ kind: 'text', text: 'plain' }]);
    expect(answerParts('')).toEqual([]);
  });
});
