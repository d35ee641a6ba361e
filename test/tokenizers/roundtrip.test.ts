import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { loadTiktoken } from '../../src/node/tokenizers.js';
import { parseMinbpeModel } from '../../src/tokenizers/bpe/model-file.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe/tokenizer.js';
import { SpmTokenizer } from '../../src/tokenizers/spm/tokenizer.js';
import type { Tokenizer } from '../../src/tokenizers/types.js';
import { FIXTURES, rng, vectors } from './fixtures.js';

/** Random text from pieces that stress splitting: spaces of every kind, marks, emoji, CJK, digits. */
function randomText(rand: () => number, length: number): string {
  const alphabet = ['a', 'Z', 'é', 'e\u0301', ' ', '  ', '\t', '\n', '\r\n', '\u0085', '\u00A0', '\u3000', '\uFEFF', '\u2028',
    "'s", "'LL", '1', '234', '٣', '!', '?!', '...', '<|', '|>', '🤗', '👍🏽', '你好', 'Ω', 'ſ', '\u0000', 'x'];
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

test('random text round-trips through every tokenizer, whole and streamed', () => {
  const m = vectors().minbpe;
  const tokenizers: [string, Tokenizer][] = [
    ['gpt2', loadTiktoken('gpt2')], ['cl100k_base', loadTiktoken('cl100k_base')], ['o200k_base', loadTiktoken('o200k_base')],
    ['minbpe basic', new BpeTokenizer(parseMinbpeModel(m.basic_512.minbpe_model_file_with_special))],
    ['minbpe regex', new BpeTokenizer(parseMinbpeModel(m.regex_512.minbpe_model_file_with_special))],
    ['spm bpe', new SpmTokenizer(readFileSync(join(FIXTURES, 'sentencepiece', 'shakespeare-bpe-1000.model')))],
    ['spm unigram', new SpmTokenizer(readFileSync(join(FIXTURES, 'sentencepiece', 'shakespeare-unigram-1000.model')))],
  ];
  const rand = rng(42);
  for (let k = 0; k < 60; k++) {
    const text = randomText(rand, 1 + Math.floor(rand() * 40));
    for (const [name, tok] of tokenizers) {
      const ids = tok.encode(text);
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize), name);
      assert.equal(tok.decode(ids), text, `${name}: ${JSON.stringify(text)}`);
      const d = tok.streamDecoder();
      let streamed = '';
      for (const id of ids) {
        const piece = d.push([id]);
        assert.ok(!piece.includes('\uFFFD'), `${name}: streaming emitted half a character`);
        streamed += piece;
      }
      assert.equal(streamed + d.flush(), text, name);
    }
  }
});

test('random bytes given as a minbpe .model are clear errors', () => {
  const rand = rng(9);
  for (let k = 0; k < 200; k++) {
    let s = k % 2 ? 'minbpe v1\n' : '';
    const n = Math.floor(rand() * 200);
    for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rand() * 128));
    try {
      parseMinbpeModel(s);
    } catch (e) {
      assert.ok(e instanceof UserError, String(e));
    }
  }
});
