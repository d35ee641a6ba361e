import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadDataset, prepareDataset } from '../../src/node/prepare.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe/tokenizer.js';
import { FIXTURES, noShakespeare, shakespeare, vectors } from './fixtures.js';

const quiet = (): void => {};

describe('prepare with each tokenizer', () => {
  const root = mkdtempSync(join(tmpdir(), 'yorick-prep-'));

  test('shakespeare with gpt2: nanoGPT\'s train/val token counts, and the text back', { skip: noShakespeare }, () => {
    const t = vectors().tinyshakespeare;
    const text = shakespeare()!;
    const dir = join(root, 'shakespeare');
    const meta = prepareDataset(text, dir, 'gpt2', quiet);
    assert.deepEqual(meta.tokenizer, { kind: 'tiktoken', encoding: 'gpt2' });
    assert.equal(meta.vocab_size, 50257);
    assert.equal(meta.train_tokens, t.gpt2.train90_tokens);
    assert.equal(meta.val_tokens, t.gpt2.val10_tokens);
    const data = loadDataset(dir);
    assert.deepEqual([...data.train.slice(0, 20)], t.gpt2.first20);
    assert.equal(data.tokenizer.decode(data.train) + data.tokenizer.decode(data.val), text);
  });

  test('shakespeare_char: the lecture\'s 65 characters and split', { skip: noShakespeare }, () => {
    const c = vectors().tinyshakespeare.char_level;
    const meta = prepareDataset(shakespeare()!, join(root, 'char'), 'char', quiet);
    assert.equal(meta.vocab_size, c.vocab_size);
    assert.equal(meta.train_tokens, c.train90);
    assert.equal(meta.val_tokens, c.val10);
  });

  test('bpe and spm datasets carry their whole tokenizer in meta.json', () => {
    const text = 'To be, or not to be, that is the question:\nWhether \'tis nobler in the mind to suffer\n'.repeat(20);
    const model = join(root, 'small.model');
    writeFileSync(model, BpeTokenizer.train(text, 300, 'gpt4').toMinbpeModel());
    for (const arg of [`bpe:${model}`, `spm:${join(FIXTURES, 'sentencepiece', 'shakespeare-bpe-1000.model')}`]) {
      const dir = join(root, arg.slice(0, 3));
      const meta = prepareDataset(text, dir, arg, quiet);
      const data = loadDataset(dir);
      assert.equal(data.meta.vocab_size, meta.vocab_size);
      assert.equal(data.tokenizer.decode(data.train) + data.tokenizer.decode(data.val), text);
      assert.equal(data.tokenizer.decode(data.tokenizer.encode(text)), text);
    }
  });
});
