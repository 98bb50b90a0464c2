// gpt2 byte-level BPE on a hand-made vocabulary written into a tiny GGUF with our writer.
import { describe, expect, it } from 'vitest';
import { BYTE_MAPS } from '../../src/engine/tokenizer/bpe.ts';
import { preTokenizerFor } from '../../src/engine/tokenizer/pretokenizers.ts';
import { detectChatTemplate, formatChat, tokenizerFromGguf, type ChatMessage } from '../../src/engine/tokenizer/index.ts';
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { GgufValueType, type GgufKV } from '../../src/formats/gguf-types.ts';
import { writeGguf } from '../../src/formats/gguf-writer.ts';

const G = '\u0120'; // 'Ġ', GPT-2's spelling of the space byte

function tinyGpt2(extra: GgufKV[] = []) {
  const tokens: string[] = [];
  const types: number[] = [];
  for (let b = 0; b < 256; b++) { tokens.push(BYTE_MAPS.toChar[b]!); types.push(1); }
  const merges = ['h e', 'l l', 'he ll', 'hell o', `${G} w`, 'o r', `${G}w or`, 'l d', `${G}wor ld`, 'e l'];
  for (const m of merges) { tokens.push(m.replace(' ', '')); types.push(1); }
  for (const s of ['<|endoftext|>', '<|im_start|>', '<|im_end|>']) { tokens.push(s); types.push(3); }
  const arr = (key: string, itemType: number, values: string[] | Int32Array): GgufKV => ({ key, type: GgufValueType.ARRAY, value: { itemType: itemType as 8, values } });
  const metadata: GgufKV[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'gpt2' },
    arr('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
    arr('tokenizer.ggml.token_type', GgufValueType.I32, Int32Array.from(types)),
    arr('tokenizer.ggml.merges', GgufValueType.STRING, merges),
    { key: 'tokenizer.ggml.bos_token_id', type: GgufValueType.U32, value: tokens.indexOf('<|endoftext|>') },
    { key: 'tokenizer.ggml.eos_token_id', type: GgufValueType.U32, value: tokens.indexOf('<|endoftext|>') },
    ...extra,
  ];
  return { tok: tokenizerFromGguf(parseGguf(writeGguf({ metadata, tensors: [] }))), id: (t: string) => tokens.indexOf(t) };
}

describe('gpt2 byte-level BPE', () => {
  const { tok, id } = tinyGpt2();

  it('uses the GPT-2 byte alphabet', () => {
    expect(BYTE_MAPS.toChar[0x20]).toBe(G);
    expect(BYTE_MAPS.toChar[0x0a]).toBe('\u010a');
    expect(BYTE_MAPS.toChar[0x41]).toBe('A');
    expect(new Set(BYTE_MAPS.toChar).size).toBe(256);
  });

  it('merges by rank', () => {
    expect(tok.encode('hello world')).toEqual([id('hello'), id(`${G}world`)]);
    // 'he' (rank 0) beats 'el' (rank 9): "hel" → he + l, not h + el.
    expect(tok.encode('hel')).toEqual([id('he'), 'l'.charCodeAt(0)]);
    expect(tok.encode('hellx')).toEqual([id('hell'), 'x'.charCodeAt(0)]);
    expect(tok.encode(' wor')).toEqual([id(`${G}wor`)]);
  });

  it('round-trips arbitrary UTF-8 through bytes', () => {
    for (const s of ['hello world', 'naïve café\n\n日本語 🙂!!', "it's   spaced\ttabs", '']) {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
    const d = tok.decoder();
    const ids = tok.encode('🙂');
    expect(ids).toHaveLength(4); // no merges: one token per byte
    expect(ids.map((i) => d.push(i))).toEqual(['', '', '', '🙂']);
  });

  it('splits special tokens only when asked, adds no BOS by default', () => {
    const s = '<|im_start|>user\nhello<|im_end|>';
    const special = tok.encode(s, { parseSpecial: true });
    expect(special[0]).toBe(id('<|im_start|>'));
    expect(special.at(-1)).toBe(id('<|im_end|>'));
    expect(tok.encode(s)).not.toContain(id('<|im_start|>'));
    expect(tok.decode(special)).toBe('user\nhello');
    expect(tok.decode(special, { special: true })).toBe(s);
    expect(tok.isEog(id('<|im_end|>'))).toBe(true);
  });

  it('the llama-3 pre-tokenizer splits digits in threes', () => {
    const { tok: t3 } = tinyGpt2([{ key: 'tokenizer.ggml.pre', type: GgufValueType.STRING, value: 'llama-bpe' }]);
    expect(preTokenizerFor('llama-bpe').split('12345 abc')).toEqual(['123', '45', ' abc']);
    // No pre at all: llama.cpp's 'default' (its last regex also splits digit runs in threes).
    expect(preTokenizerFor(undefined).split('12345 abc')).toEqual(['123', '45', ' abc']);
    expect(preTokenizerFor('gpt-2').split('12345 abc')).toEqual(['12345', ' abc']);
    expect(t3.decode(t3.encode("We'LL go 12345"))).toBe("We'LL go 12345");
  });
});

describe('chat templates', () => {
  const msgs: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }];

  it('detects the common templates by signature', () => {
    expect(detectChatTemplate("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n'}}")).toBe('chatml');
    expect(detectChatTemplate('{{ bos_token }}<|start_header_id|>system<|end_header_id|>')).toBe('llama3');
    expect(detectChatTemplate("{{ '[INST] ' + content + ' [/INST]' }}")).toBe('llama2');
    expect(detectChatTemplate("{{ '<|user|>\\n' + m }}{{ '<|assistant|>' }}")).toBe('zephyr');
    expect(detectChatTemplate('{{ whatever }}')).toBe('plain');
    expect(detectChatTemplate(undefined)).toBe('plain');
  });

  it('formats messages', () => {
    expect(formatChat(msgs, 'chatml')).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(formatChat(msgs, 'llama3')).toBe('<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    expect(formatChat([...msgs, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Bye' }], 'llama2'))
      .toBe('[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]');
    expect(formatChat(msgs, 'zephyr')).toBe('<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n');
    expect(formatChat(msgs, 'plain')).toBe('Be brief.\n\nHi');
  });
});
