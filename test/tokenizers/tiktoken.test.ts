import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { loadTiktoken, loadTokenizer, rankFileDir } from '../../src/node/tokenizers.js';
import { ENCODINGS } from '../../src/tokenizers/tiktoken/encodings.js';
import { parseRankFile } from '../../src/tokenizers/tiktoken/rank-file.js';
import { fromHex, hex, noShakespeare, rng, shakespeare, vectors } from './fixtures.js';

const NAMES = ['gpt2', 'cl100k_base', 'o200k_base'] as const;

describe('tiktoken encodings', () => {
  test('patterns, special tokens and rank-file hashes are tiktoken\'s', () => {
    const v = vectors();
    for (const name of NAMES) {
      const e = v.encodings[name];
      assert.equal(ENCODINGS[name].pattern, e.pat_str_tiktoken, name);
      assert.deepEqual(ENCODINGS[name].specialTokens, e.special_tokens, name);
    }
    assert.equal(ENCODINGS.gpt2.rankFileSha256, v.rank_files_sha256.gpt2_r50k_base);
    assert.equal(ENCODINGS.cl100k_base.rankFileSha256, v.rank_files_sha256.cl100k_base);
    assert.equal(ENCODINGS.o200k_base.rankFileSha256, v.rank_files_sha256.o200k_base);
  });

  for (const name of NAMES) {
    test(`${name}: ids and token bytes equal tiktoken's on every vector`, () => {
      const tok = loadTiktoken(name);
      const e = vectors().encodings[name];
      for (const c of e.vectors) {
        const ids = tok.encodeOrdinary(c.text);
        assert.deepEqual(ids, c.ids, `${c.name}: ${JSON.stringify(c.text)}`);
        assert.deepEqual(ids.map((id) => hex(tok.tokenBytes(id))), c.token_hex, c.name);
        assert.equal(hex(tok.decodeBytes(ids)), c.utf8_hex, c.name);
        if (c.roundtrip_bytes_equal) assert.equal(tok.decode(ids), new TextDecoder('utf-8', { ignoreBOM: true }).decode(fromHex(c.utf8_hex)));
      }
      e.single_byte_token_ids.forEach((id: number, b: number) => assert.deepEqual([...tok.tokenBytes(id)], [b]));
      assert.equal(tok.decode(e.invalid_utf8_decode.ids), e.invalid_utf8_decode.string_via_TextDecoder);
    });

    test(`${name}: special tokens are refused by default, allowed or ordinary on request`, () => {
      const tok = loadTiktoken(name);
      const s = vectors().special[name];
      assert.deepEqual(tok.encode(s.endoftext_allowed.text, { allowedSpecial: 'all' }), s.endoftext_allowed.ids);
      assert.deepEqual(tok.encode(s.endoftext_allowed.text, { allowedSpecial: ['<|endoftext|>'] }), s.endoftext_allowed.ids);
      assert.deepEqual(tok.encodeOrdinary(s.endoftext_ordinary.text), s.endoftext_ordinary.ids);
      assert.deepEqual(tok.encode(s.endoftext_ordinary.text, { disallowedSpecial: 'none' }), s.endoftext_ordinary.ids);
      assert.throws(() => tok.encode(s.endoftext_allowed.text), (err: Error) => err instanceof UserError && err.message.includes('<|endoftext|>'));
      assert.equal(tok.decode([s.eot_id]), s.decode_eot);
      if (s.fim) assert.deepEqual(tok.encode(s.fim.text, { allowedSpecial: 'all' }), s.fim.ids);
      // a partial character: bytes per token, and streaming never emits half of it
      assert.deepEqual(s.partial_utf8.ids.map((id: number) => hex(tok.tokenBytes(id))), s.partial_utf8.per_token_hex);
      const d = tok.streamDecoder();
      const pieces = s.partial_utf8.ids.map((id: number) => d.push([id]));
      assert.equal(pieces.join(''), s.partial_utf8.text);
      assert.deepEqual(pieces.slice(0, -1).filter((p: string) => p !== ''), []);
      assert.equal(d.flush(), '');
    });

    test(`${name}: all of tinyshakespeare gives tiktoken's token counts`, { skip: noShakespeare }, () => {
      const tok = loadTiktoken(name);
      const t = vectors().tinyshakespeare[name];
      const text = shakespeare()!;
      const ids = tok.encode(text);
      assert.equal(ids.length, t.tinyshakespeare_tokens);
      assert.deepEqual(ids.slice(0, 20), t.first20);
      const n = Math.floor(text.length * 0.9);
      assert.equal(tok.encodeOrdinary(text.slice(0, n)).length, t.train90_tokens);
      assert.equal(tok.encodeOrdinary(text.slice(n)).length, t.val10_tokens);
      assert.equal(tok.decode(ids), text);
    });
  }

  test('decoding keeps a leading U+FEFF; ids without a token are errors', () => {
    const tok = loadTiktoken('cl100k_base');
    assert.equal(tok.decode(tok.encode('\uFEFFhi')), '\uFEFFhi');
    assert.throws(() => tok.decode([100256]), /not a token of cl100k_base/);
    assert.throws(() => tok.decode([-1]), UserError);
    assert.equal(tok.vocabSize, 100277);
    assert.equal(loadTiktoken('gpt2').vocabSize, 50257);
    assert.equal(loadTiktoken('o200k_base').vocabSize, 200019);
  });

  test('the spec is the encoding name and loads back to the same tokenizer', () => {
    const tok = loadTiktoken('r50k_base');
    assert.deepEqual(tok.toSpec(), { kind: 'tiktoken', encoding: 'gpt2' });
    assert.equal(loadTokenizer(JSON.parse(JSON.stringify(tok.toSpec()))), tok);
    assert.throws(() => loadTokenizer({ kind: 'tiktoken', encoding: 'p50k_base' }), /unknown tiktoken encoding/);
  });

  test('lone surrogates encode as U+FFFD, as tiktoken does', () => {
    const tok = loadTiktoken('gpt2');
    assert.deepEqual(tok.encode('x\uDFFFy'), tok.encode('x\uFFFDy'));
  });
});

describe('rank files', () => {
  const data = (): Uint8Array => readFileSync(join(rankFileDir(), 'r50k_base.tiktoken'));

  test('truncated files are clear errors or short parses, never crashes', () => {
    const full = data();
    for (const cut of [0, 1, 5, 100, 1000, 4001, 100_000, full.length - 3]) {
      try {
        const r = parseRankFile(full.subarray(0, cut), 'cut');
        assert.ok(r.byBytes.size > 0);
      } catch (e) {
        assert.ok(e instanceof UserError, `cut ${cut}: ${e}`);
      }
    }
  });

  test('random and corrupted bytes are clear errors', () => {
    const rand = rng(1);
    for (let k = 0; k < 200; k++) {
      const bytes = Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
      assert.throws(() => parseRankFile(bytes, 'random'), UserError);
    }
    const enc = new TextEncoder();
    assert.throws(() => parseRankFile(enc.encode('IQ== 0\nIQ== 1\n'), 'dup'), /repeats a token/);
    assert.throws(() => parseRankFile(enc.encode('IQ== x\n'), 'bad'), /invalid rank/);
    assert.throws(() => parseRankFile(enc.encode('I!== 0\n'), 'bad'), /invalid base64/);
    assert.throws(() => parseRankFile(enc.encode('IQ== 0\n'), 'short'), /byte 0x00 has no token/);
  });
});
