import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { loadTokenizer } from '../../src/node/tokenizers.js';
import { SpmTokenizer } from '../../src/tokenizers/spm/tokenizer.js';
import { FIXTURES, noShakespeare, rng, shakespeare, type Json } from './fixtures.js';

const DIR = join(FIXTURES, 'sentencepiece');
const fixture = (kind: string): Json => JSON.parse(readFileSync(join(DIR, `shakespeare-${kind}-1000.json`), 'utf8'));
const modelBytes = (kind: string): Uint8Array => readFileSync(join(DIR, `shakespeare-${kind}-1000.model`));

/** A protobuf field: tag, then a varint-length payload. */
function field(num: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.from([(num << 3) | 2, payload.length, ...payload]);
}

describe('SentencePiece', () => {
  for (const kind of ['bpe', 'unigram']) {
    test(`${kind}: ids, pieces and decoded text equal sentencepiece's on every case`, () => {
      const f = fixture(kind);
      const tok = new SpmTokenizer(modelBytes(kind), f.model);
      assert.equal(tok.vocabSize, f.vocab_size);
      for (const c of f.cases) {
        const segs = tok.encodePieces(c.text);
        assert.deepEqual(segs.map((s) => s[1]), c.ids, JSON.stringify(c.text));
        assert.deepEqual(segs.map((s) => s[0]), c.pieces, JSON.stringify(c.text));
        assert.equal(tok.decode(c.ids), c.decoded);
      }
    });

    test(`${kind}: token count of tinyshakespeare line by line`, { skip: noShakespeare }, () => {
      const f = fixture(kind);
      const tok = new SpmTokenizer(modelBytes(kind));
      let n = 0;
      for (const line of shakespeare()!.split('\n')) if (line.length > 0) n += tok.encode(line).length;
      assert.equal(n, f.corpus_tokens_line_by_line);
    });

    test(`${kind}: the spec embeds the model; streaming decode matches decode`, () => {
      const tok = new SpmTokenizer(modelBytes(kind));
      const again = loadTokenizer(JSON.parse(JSON.stringify(tok.toSpec())));
      const text = ' Hello, 世界! 🤗 naïve';
      const ids = tok.encode(text);
      assert.deepEqual(again.encode(text), ids);
      const d = again.streamDecoder();
      const parts = ids.map((id) => d.push([id]));
      assert.equal(parts.join('') + d.flush(), tok.decode(ids));
      assert.ok(parts.every((p) => !p.includes('\uFFFD')));
      assert.throws(() => tok.decode([1000]), /not a piece/);
    });
  }

  test('truncated and random bytes are clear errors, never a hang or a crash', () => {
    const full = modelBytes('unigram');
    for (let cut = 0; cut < full.length; cut += 97) {
      assert.throws(() => new SpmTokenizer(full.subarray(0, cut)), UserError, `cut at ${cut}`);
    }
    const rand = rng(7);
    for (let k = 0; k < 300; k++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 400) }, () => Math.floor(rand() * 256));
      assert.throws(() => new SpmTokenizer(bytes), UserError);
    }
    // flipped bytes in a real model: either still a model, or a clear error
    for (let k = 0; k < 100; k++) {
      const bytes = full.slice();
      for (let j = 0; j < 5; j++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        new SpmTokenizer(bytes).encode('hello world');
      } catch (e) {
        assert.ok(e instanceof UserError, String(e));
      }
    }
  });

  test('a normalization with a character map is refused by name', () => {
    const enc = new TextEncoder();
    const normalizer = field(3, Uint8Array.from([...field(1, enc.encode('nmt_nfkc')), ...field(2, Uint8Array.of(1, 2, 3))]));
    const bytes = Uint8Array.from([...modelBytes('bpe'), ...normalizer]); // a later field wins, as in protobuf
    assert.throws(() => new SpmTokenizer(bytes), (e: Error) => e instanceof UserError && /nmt_nfkc/.test(e.message) && /identity/.test(e.message));
  });

  test('normalizer options: extra whitespace removal and no dummy prefix', () => {
    const varintField = (num: number, v: number): number[] => [num << 3, v];
    const withNormalizer = (fields: number[]): SpmTokenizer =>
      new SpmTokenizer(Uint8Array.from([...modelBytes('bpe'), ...field(3, Uint8Array.from(fields))]));
    const plain = new SpmTokenizer(modelBytes('bpe'));
    const squeeze = withNormalizer(varintField(4, 1)); // remove_extra_whitespaces
    assert.equal(squeeze.normalize('  hello   world  '), '\u2581hello\u2581world');
    assert.deepEqual(squeeze.encode('  hello   world  '), plain.encode('hello world'));
    assert.deepEqual(squeeze.encode('   '), []);
    const bare = withNormalizer(varintField(3, 0)); // add_dummy_prefix off
    assert.equal(bare.normalize('hello world'), 'hello\u2581world');
    assert.deepEqual(bare.encodePieces('hello world').map((p) => p[0]), ['he', 'll', 'o', '\u2581world']);
    assert.equal(bare.decode(bare.encode(' hello world')), ' hello world');
  });
});
