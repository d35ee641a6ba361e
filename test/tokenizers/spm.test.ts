import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

/** The vocabulary size, and every case's ids, pieces and decoded text, as sentencepiece gave them. */
function checkCases(tok: SpmTokenizer, f: Json): void {
  assert.equal(tok.vocabSize, f.vocab_size);
  for (const c of f.cases) {
    const segs = tok.encodePieces(c.text);
    assert.deepEqual(segs.map((s) => s[1]), c.ids, JSON.stringify(c.text));
    assert.deepEqual(segs.map((s) => s[0]), c.pieces, JSON.stringify(c.text));
    assert.equal(tok.decode(c.ids), c.decoded);
  }
}

describe('SentencePiece', () => {
  for (const kind of ['bpe', 'unigram']) {
    test(`${kind}: ids, pieces and decoded text equal sentencepiece's on every case`, () => {
      const f = fixture(kind);
      const tok = new SpmTokenizer(modelBytes(kind), f.model);
      checkCases(tok, f);
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

/** sha256 of ids as little-endian int32, as scripts/fixtures/sentencepiece_ids.py writes it. */
function idsHash(ids: ArrayLike<number>): string {
  return createHash('sha256').update(new Uint8Array(Int32Array.from(ids).buffer)).digest('hex');
}

describe('SentencePiece Unigram models beyond the shipped vectors', () => {
  const corpus: Json = JSON.parse(readFileSync(join(DIR, 'tinyshakespeare-ids.json'), 'utf8'));

  for (const vocab of [500, 2000]) {
    test(`unigram ${vocab}: ids, pieces and decoded text of the sample strings`, () => {
      const f: Json = JSON.parse(readFileSync(join(DIR, `shakespeare-unigram-${vocab}.json`), 'utf8'));
      const tok = new SpmTokenizer(readFileSync(join(DIR, f.model)));
      checkCases(tok, f);
    });
  }

  for (const [name, ref] of Object.entries<Json>(corpus.models)) {
    test(`${name}: tinyshakespeare's ids, line by line and the whole text at once, equal sentencepiece's`, { skip: noShakespeare }, () => {
      const bytes = readFileSync(join(DIR, name));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), ref.model_sha256, `${name} is not the model the ids were computed with`);
      const tok = new SpmTokenizer(bytes);
      const text = shakespeare()!;
      // line by line (short sums), block by block so that a failure says where
      const lines = text.split('\n');
      const lbl = ref.line_by_line;
      const all: number[] = [];
      for (let b = 0; b * lbl.block_lines < lines.length; b++) {
        const ids = lines.slice(b * lbl.block_lines, (b + 1) * lbl.block_lines).filter((l) => l.length > 0).flatMap((l) => tok.encode(l));
        assert.equal(idsHash(ids).slice(0, 16), lbl.blocks[b], `${name}: lines ${b * lbl.block_lines}..${(b + 1) * lbl.block_lines - 1} differ from sentencepiece`);
        all.push(...ids);
      }
      assert.equal(all.length, lbl.tokens);
      assert.equal(idsHash(all), lbl.sha256);
      // at once, as `yorick prepare` encodes: the Viterbi sums reach about -1e6, where float32
      // rounding decides between paths of equal true score
      const whole = tok.encode(text);
      const w = ref.whole_text;
      for (let at = 0; at < whole.length; at += w.block_tokens) {
        const h = idsHash(whole.slice(at, at + w.block_tokens)).slice(0, 16);
        if (h !== w.blocks[at / w.block_tokens]) {
          const pieces = tok.encodePieces(text).slice(at, at + 40).map((s) => s[0]).join('|');
          assert.fail(`${name}: whole-text ids differ from sentencepiece's from token ${at} on (yorick: ${pieces} ...)`);
        }
      }
      assert.equal(whole.length, w.tokens);
      assert.equal(idsHash(whole), w.sha256);
    });
  }
});
