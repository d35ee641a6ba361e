import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { parseMinbpeModel } from '../../src/tokenizers/bpe/model-file.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe/tokenizer.js';
import { trainBpe } from '../../src/tokenizers/bpe/train.js';
import { GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN } from '../../src/tokenizers/patterns.js';
import { noShakespeare, shakespeare, vectors, type Json } from './fixtures.js';

const minbpe = (): Json => vectors().minbpe;

describe('BPE training (minbpe semantics)', () => {
  for (const [name, pattern] of [['basic_512', null], ['regex_512', GPT4_SPLIT_PATTERN]] as const) {
    test(`${name}: every merge, count and tie equals minbpe's on tinyshakespeare`, { skip: noShakespeare }, () => {
      const f = minbpe()[name];
      assert.equal(f.pattern, pattern ?? '');
      const r = trainBpe(shakespeare()!, 512, pattern);
      assert.deepEqual(r.merges.map((m) => [m.left, m.right, m.id, m.count, m.tied]), f.merges);
      assert.equal(r.tokens, f.training_tokens_after_merges);
      assert.equal(r.merges.filter((m) => m.tied > 1).length, f.merges_with_tied_max);
    });
  }

  test('the textbook example: aaabdaaabac', () => {
    // Wikipedia's BPE example; minbpe's test: 3 merges give [258, 100, 258, 97, 99]
    const tok = BpeTokenizer.train('aaabdaaabac', 256 + 3, '');
    assert.deepEqual(tok.encode('aaabdaaabac'), [258, 100, 258, 97, 99]);
    assert.equal(tok.decode([258, 100, 258, 97, 99]), 'aaabdaaabac');
  });

  test('ties go to the pair seen first, and overlapping pairs count as get_stats counts them', () => {
    // (a,b) occurs twice, every other pair once
    let r = trainBpe('xbaab ab', 257, null);
    assert.deepEqual(r.merges.map((m) => [m.left, m.right, m.count, m.tied]), [[97, 98, 2, 1]]);
    r = trainBpe('cdab', 257, null); // all pairs once: the first, 'cd', wins
    assert.deepEqual(r.merges.map((m) => [m.left, m.right, m.count, m.tied]), [[99, 100, 1, 3]]);
    r = trainBpe('aaaa', 258, null); // (a,a) counted 3 times, merged left to right: 256 256, then (256,256)
    assert.deepEqual(r.merges.map((m) => [m.left, m.right, m.count]), [[97, 97, 3], [256, 256, 1]]);
    assert.equal(r.tokens, 1);
  });

  test('regex training never merges across chunks and weights repeated chunks', () => {
    const r = trainBpe('ab ab ab', 257, GPT2_SPLIT_PATTERN);
    // chunks: 'ab', ' ab', ' ab' -> (a,b) 3 times, (' ',a) twice
    assert.deepEqual(r.merges.map((m) => [m.left, m.right, m.count]), [[97, 98, 3]]);
  });

  test('bad vocab sizes are clear errors', () => {
    assert.throws(() => trainBpe('hello', 255, null), (e: Error) => e instanceof UserError && /at least 256/.test(e.message));
    assert.throws(() => trainBpe('hello', 300.5, null), UserError);
    assert.throws(() => trainBpe('hello', 300, null), (e: Error) => e instanceof UserError && /largest vocab_size for it is 260/.test(e.message));
    assert.throws(() => trainBpe('', 257, null), /largest vocab_size for it is 256/);
    assert.equal(trainBpe('', 256, null).merges.length, 0);
  });
});

describe('BPE tokenizer', () => {
  for (const name of ['basic_512', 'regex_512']) {
    test(`${name}: loads minbpe's .model, saves it byte for byte, encodes its vectors`, () => {
      const f = minbpe()[name];
      const tok = new BpeTokenizer(parseMinbpeModel(f.minbpe_model_file_with_special));
      assert.equal(tok.toMinbpeModel(), f.minbpe_model_file_with_special);
      assert.equal(tok.vocabSize, 513);
      for (const c of f.vectors) {
        assert.deepEqual(tok.encode(c.text), c.ids, c.text);
        assert.equal(tok.decode(c.ids), c.text);
      }
      const strings = f.merged_token_strings_first40.map((_: string, i: number) => new TextDecoder().decode(tok.tokenBytes(256 + i)));
      assert.deepEqual(strings, f.merged_token_strings_first40);
    });

    test(`${name}: special tokens: allowed, ordinary, refused by default`, () => {
      const f = minbpe()[name];
      const tok = new BpeTokenizer(parseMinbpeModel(f.minbpe_model_file_with_special));
      const se = f.special_example;
      assert.deepEqual(tok.model.specialTokens, se.special_tokens);
      assert.deepEqual(tok.encode(se.text, { allowedSpecial: 'all' }), se.ids_allowed_all);
      assert.deepEqual(tok.encode(se.text, { allowedSpecial: ['<|endoftext|>'] }), se.ids_allowed_all);
      assert.deepEqual(tok.encode(se.text, { disallowedSpecial: 'none' }), se.ids_ordinary);
      assert.deepEqual(tok.encodeOrdinary(se.text), se.ids_ordinary);
      assert.throws(() => tok.encode(se.text), (e: Error) => e instanceof UserError && /<\|endoftext\|>/.test(e.message));
      assert.equal(tok.decode(se.ids_allowed_all), se.text);
    });

    test(`${name}: encodes all of tinyshakespeare to minbpe's length and back`, { skip: noShakespeare }, () => {
      const f = minbpe()[name];
      const tok = new BpeTokenizer(parseMinbpeModel(f.minbpe_model_file_with_special));
      const text = shakespeare()!;
      const ids = tok.encode(text);
      assert.equal(ids.length, f.tinyshakespeare_tokens);
      assert.deepEqual(ids.slice(0, 30), f.tinyshakespeare_first30);
      assert.equal(tok.decode(ids), text);
    });
  }

  test('the spec round-trips through JSON and the trained tokenizer round-trips text', () => {
    const text = 'the quick brown fox jumps over the lazy dog; the dog sleeps. 🦊 ünïcödé';
    const tok = BpeTokenizer.train(text, 300, GPT4_SPLIT_PATTERN, { '<|eot|>': 300 });
    const again = BpeTokenizer.fromSpec(JSON.parse(JSON.stringify(tok.toSpec())));
    assert.deepEqual(again.merges, tok.merges);
    assert.equal(again.vocabSize, 301);
    for (const s of [text, 'foxes and dogs', '', '  \n\t x', '🦊🦊']) {
      assert.deepEqual(again.encode(s), tok.encode(s));
      assert.equal(tok.decode(tok.encode(s)), s);
    }
    assert.deepEqual(tok.encode('a<|eot|>', { allowedSpecial: 'all' }).slice(-1), [300]);
  });

  test('streaming decode holds back half characters', () => {
    const tok = BpeTokenizer.train('abc', 256, '');
    const ids = tok.encode('é🤗!'); // bytes c3 a9 f0 9f a4 97 21
    const d = tok.streamDecoder();
    const out = ids.map((id) => d.push([id]));
    assert.deepEqual(out, ['', 'é', '', '', '', '🤗', '!']);
    assert.equal(d.flush(), '');
    const d2 = tok.streamDecoder();
    assert.equal(d2.push(ids.slice(0, 3)), 'é');
    assert.equal(d2.flush(), '\uFFFD');
  });

  test('special tokens that collide with ordinary ids, or each other, are refused', () => {
    const merges: [number, number][] = [[97, 98]];
    assert.throws(() => new BpeTokenizer({ pattern: '', merges, specialTokens: { '<s>': 256 } }), /already an ordinary token's id/);
    assert.throws(() => new BpeTokenizer({ pattern: '', merges, specialTokens: { '<s>': 97 } }), UserError);
    assert.throws(() => new BpeTokenizer({ pattern: '', merges, specialTokens: { '<s>': 300, '</s>': 300 } }), /both have id 300/);
    assert.throws(() => new BpeTokenizer({ pattern: '', merges, specialTokens: { '': 300 } }), UserError);
    assert.throws(() => new BpeTokenizer({ pattern: '', merges: [[97, 300]], specialTokens: {} }), /below 256/);
    assert.throws(() => BpeTokenizer.train('abc', 256, '').decode([256]), /not a token/);
  });
});

describe('minbpe .model parsing', () => {
  const good = (): string => minbpe().regex_512.minbpe_model_file_with_special;

  test('every truncation is either a valid prefix model or a clear error', () => {
    const text = good();
    for (let cut = 0; cut < text.length; cut += 7) {
      try {
        const m = parseMinbpeModel(text.slice(0, cut));
        assert.ok(m.merges.length <= 256);
      } catch (e) {
        assert.ok(e instanceof UserError, `cut ${cut}: ${e}`);
      }
    }
  });

  test('corrupt lines are named', () => {
    assert.throws(() => parseMinbpeModel('minbpe v2\n\n0\n'), /first line/);
    assert.throws(() => parseMinbpeModel('minbpe v1\n\nx\n'), /number of special tokens/);
    assert.throws(() => parseMinbpeModel('minbpe v1\n\n2\n<a> 300\n'), /truncated/);
    assert.throws(() => parseMinbpeModel('minbpe v1\n\n0\n97 98\n97\n'), /line 5/);
    assert.throws(() => parseMinbpeModel('minbpe v1\n\n0\n97 256\n'), /below 256/);
    assert.throws(() => parseMinbpeModel('minbpe v1\n\n0\n97 98\n97 98\n'), /repeats/);
  });
});
