import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseIds } from '../../src/cli/tokenizer.js';
import { UserError } from '../../src/errors.js';
import { createTokenizer, loadTokenizer, readTextFile } from '../../src/node/tokenizers.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe/tokenizer.js';
import { base64Decode, base64Encode, decodeUtf8Strict } from '../../src/tokenizers/bytes.js';
import { tokenizerFromSpec } from '../../src/tokenizers/index.js';
import { FIXTURES, rng } from './fixtures.js';

describe('tokenizer loading for prepare / train / sample', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yorick-tok-'));

  test('every --tokenizer kind builds, and its spec rebuilds the same tokenizer', () => {
    const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n';
    const bpe = BpeTokenizer.train(text.repeat(3), 280, 'gpt4');
    writeFileSync(join(dir, 'm.model'), bpe.toMinbpeModel());
    writeFileSync(join(dir, 'm.json'), JSON.stringify(bpe.toSpec()));
    const args = ['char', `bpe:${join(dir, 'm.model')}`, `bpe:${join(dir, 'm.json')}`, 'gpt2', 'cl100k_base', 'o200k_base',
      `spm:${join(FIXTURES, 'sentencepiece', 'shakespeare-unigram-1000.model')}`];
    const sizes: number[] = [];
    for (const arg of args) {
      const tok = createTokenizer(arg, text);
      const again = loadTokenizer(JSON.parse(JSON.stringify(tok.toSpec())));
      assert.equal(again.kind, tok.kind);
      assert.equal(again.vocabSize, tok.vocabSize);
      assert.deepEqual(again.encode(text), tok.encode(text), arg);
      assert.equal(again.decode(tok.encode(text)), text, arg);
      sizes.push(tok.vocabSize);
    }
    assert.deepEqual(sizes, [new Set(text).size, 280, 280, 50257, 100277, 200019, 1000]);
    assert.equal(tokenizerFromSpec(createTokenizer(args[1], text).toSpec()).vocabSize, 280);
  });

  test('bad --tokenizer values and files are UserErrors naming them', () => {
    assert.throws(() => createTokenizer('gpt3', ''), (e: Error) => e instanceof UserError && /"gpt3"/.test(e.message) && /cl100k_base/.test(e.message));
    assert.throws(() => createTokenizer('bpe:', ''), /needs a file/);
    assert.throws(() => createTokenizer(`bpe:${join(dir, 'missing.model')}`, ''), /no such file/);
    writeFileSync(join(dir, 'junk.model'), 'hello');
    assert.throws(() => createTokenizer(`bpe:${join(dir, 'junk.model')}`, ''), /neither a minbpe/);
    assert.throws(() => createTokenizer(`spm:${join(dir, 'junk.model')}`, ''), UserError);
    assert.throws(() => loadTokenizer({ kind: 'nope' }), /unknown tokenizer kind/);
  });

  test('invalid UTF-8 input is refused with its offset', () => {
    writeFileSync(join(dir, 'bad.txt'), Uint8Array.of(0x68, 0x69, 0xc3, 0x28));
    assert.throws(() => readTextFile(join(dir, 'bad.txt')), /byte offset 2/);
    assert.throws(() => decodeUtf8Strict(Uint8Array.of(0xed, 0xa0, 0x80)), /offset 0/); // a surrogate
    assert.throws(() => decodeUtf8Strict(Uint8Array.of(0x61, 0xf0, 0x9f)), /offset 1/); // truncated
    assert.equal(decodeUtf8Strict(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61)), '\uFEFFa'); // a BOM is kept
  });

  test('base64 round trips and rejects garbage', () => {
    const rand = rng(3);
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      assert.deepEqual(base64Decode(base64Encode(bytes)), bytes);
    }
    assert.equal(base64Encode(new TextEncoder().encode('hello')), 'aGVsbG8=');
    for (const bad of ['a', 'aGVsbG8', 'aGV$bG8=', '=abc']) assert.throws(() => base64Decode(bad), UserError, bad);
  });

  test('the CLI reads ids in any of its forms', () => {
    assert.deepEqual(parseIds(' 1 2,3\n4 '), [1, 2, 3, 4]);
    assert.deepEqual(parseIds('[5, 6]'), [5, 6]);
    assert.deepEqual(parseIds(''), []);
    assert.throws(() => parseIds('1 -2'), /id 1/);
    assert.throws(() => parseIds('[1, 2.5]'), UserError);
  });
});
