// Encoding a large text in pieces (for prepare's progress) gives exactly the tokens of one
// encode() of the whole text, for every tokenizer it cuts for; the others are not cut.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { canEncodeInPieces, encodeInPieces, pieceEnds } from '../src/data/pieces.js';
import { createTokenizer } from '../src/node/tokenizers.js';
import { BpeTokenizer } from '../src/tokenizers/bpe/tokenizer.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { shakespearePath, shakespeareSkip } from './helpers.js';

// lines that end and start in every way the split patterns treat differently: runs of spaces
// and newlines before a letter, punctuation, contractions, digits, CRLF, accents, emoji
const rng = new XoshiroRng(5);
const bits = ['  \nA', '\n\nB', 'x.\nC', "it's\nD", '123\n4', 'é\nÉ', '😀\nx', '\r\nX', '\t\nY', ' \n \nZ', 'word\nword', ';\n\'s', 'Ünï\ncode', ' ', '  ', 'the', 'King', '\n'];
let tricky = '';
while (tricky.length < 30000) tricky += bits[rng.int(bits.length)];

function tokenizers(text: string) {
  return [
    ['char', createTokenizer('char', text)],
    ['gpt2', createTokenizer('gpt2', text)],
    ['cl100k_base', createTokenizer('cl100k_base', text)],
    ['o200k_base', createTokenizer('o200k_base', text)],
    ['bpe gpt4 pattern', BpeTokenizer.train(text.slice(0, 5000), 300, 'gpt4')],
    ['bpe gpt2 pattern', BpeTokenizer.train(text.slice(0, 5000), 300, 'gpt2')],
  ] as const;
}

function check(text: string, size: number): void {
  for (const [name, tok] of tokenizers(text)) {
    assert.ok(canEncodeInPieces(tok.toSpec()), name);
    const done: number[] = [];
    const pieces = encodeInPieces(tok, text, size, (d) => done.push(d));
    assert.ok(done.length > 3, `${name}: cut into ${done.length} pieces`);
    assert.equal(done[done.length - 1], text.length);
    assert.deepEqual(pieces, tok.encode(text), name);
  }
}

test('pieces give the whole text\'s tokens on text made to break a careless cut', () => check(tricky, 2000));

test('pieces give the whole text\'s tokens on Tiny Shakespeare', { skip: shakespeareSkip }, () => {
  check(readFileSync(shakespearePath, 'utf8').slice(0, 300000), 40000);
});

test('cuts fall after a newline that follows a non-space and precedes a letter; BPE without a split pattern is not cut', () => {
  const ends = pieceEnds(tricky, 1000, false);
  assert.ok(ends.length > 10);
  for (const e of ends.slice(0, -1)) {
    assert.equal(tricky[e - 1], '\n');
    assert.match(String.fromCodePoint(tricky.codePointAt(e)!), /^\p{L}$/u);
    assert.match(tricky.slice(Math.max(0, e - 3), e - 1), /\S$/u);
  }
  const charEnds = pieceEnds('a😀'.repeat(10), 4, true);
  for (const e of charEnds) assert.ok(!/[\ud800-\udbff]/.test('a😀'.repeat(10)[e - 1]), 'never inside a surrogate pair');
  const noSplit = BpeTokenizer.train(tricky.slice(0, 3000), 270, '');
  assert.equal(canEncodeInPieces(noSplit.toSpec()), false);
  const calls: number[] = [];
  encodeInPieces(noSplit, tricky.slice(0, 5000), 500, (d) => calls.push(d));
  assert.deepEqual(calls, [5000], 'encoded whole');
});
