// prepare streams: the text is read in pieces and tokenized piece by piece, with exactly the ids
// of nanoGPT's whole-text prepare (first 90% of the characters to train, the rest to val).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StreamEncoder, splitRuleFor } from '../src/data/stream-encode.js';
import { UserError } from '../src/errors.js';
import { prepareDatasetFrom } from '../src/node/prepare.js';
import { fileTextSource, stringTextSource } from '../src/node/text-source.js';
import { createTokenizer } from '../src/node/tokenizers.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { BpeTokenizer } from '../src/tokenizers/bpe/tokenizer.js';
import { CharTokenizer } from '../src/tokenizers/char.js';
import type { Tokenizer } from '../src/tokenizers/types.js';
import { shakespearePath, shakespeareSkip } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'yorick-prepare-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Today's (nanoGPT's) prepare, the oracle: the text cut at 90% of its code points, each part encoded whole. */
function wholeTextIds(text: string, tokenizer: Tokenizer): { train: number[]; val: number[] } {
  const chars = [...text];
  const cut = Math.floor(chars.length * 0.9);
  return { train: tokenizer.encode(chars.slice(0, cut).join('')), val: tokenizer.encode(chars.slice(cut).join('')) };
}

function readIds(path: string, dtype: string): number[] {
  const b = Uint8Array.from(readFileSync(path));
  return [...(dtype === 'uint16' ? new Uint16Array(b.buffer) : new Uint32Array(b.buffer))];
}

function prepared(out: string): { train: number[]; val: number[]; meta: Record<string, unknown> } {
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
  return { train: readIds(join(out, 'train.bin'), meta.dtype), val: readIds(join(out, 'val.bin'), meta.dtype), meta };
}

for (const kind of ['char', 'gpt2']) {
  test(`finding 4: prepare streams Tiny Shakespeare (${kind}) with the ids of the whole-text prepare`, { skip: shakespeareSkip }, () => {
    const text = readFileSync(shakespearePath, 'utf8');
    const out = join(dir, `shakespeare-${kind}`);
    // 64 kB reads and ~1000-character tokenizer calls: hundreds of cuts
    const meta = prepareDatasetFrom(fileTextSource(shakespearePath, 65536), out, kind, () => {}, { pieceChars: 1000, progress: false });
    const tokenizer = kind === 'char' ? CharTokenizer.fromText(text) : createTokenizer(kind, '');
    const expected = wholeTextIds(text, tokenizer);
    const got = prepared(out);
    assert.equal(meta.train_tokens, expected.train.length);
    assert.deepEqual(got.train, expected.train);
    assert.deepEqual(got.val, expected.val);
    assert.deepEqual(meta.tokenizer, tokenizer.toSpec());
    if (kind === 'char') assert.equal(meta.vocab_size, 65);
  });
}

// Characters that meet at the places a cut could go wrong: white space runs, newlines,
// contractions, punctuation before newlines, "/", digits, marks, astral letters, CJK.
const ALPHABET = [' ', ' ', ' ', '\n', '\n', '\t', 'a', 'b', 'K', 'Z', "'", 's', 't', 'll', '1', '23', '.', '!', '/', 'é', 'e\u0301', '中', '😀', '𝐀', '\u00a0', '\r\n'];

function trickyText(rng: XoshiroRng, length: number): string {
  let s = '';
  while (s.length < length) s += ALPHABET[rng.int(ALPHABET.length)];
  return s;
}

test('finding 4: piece-by-piece encoding equals whole encoding for every streamable tokenizer, on random tricky text', () => {
  const rng = new XoshiroRng(10);
  const sample = Array.from({ length: 50 }, () => trickyText(rng, 200)).join(' the king said ');
  const tokenizers: Tokenizer[] = [
    CharTokenizer.fromText(ALPHABET.join('')),
    createTokenizer('gpt2', ''), createTokenizer('cl100k_base', ''), createTokenizer('o200k_base', ''),
    BpeTokenizer.train(sample, 300, 'gpt4'), BpeTokenizer.train(sample, 300, 'gpt2'),
  ];
  let cases = 0;
  for (const tok of tokenizers) {
    assert.ok(splitRuleFor(tok), `${tok.kind} streams`);
    for (let k = 0; k < 40; k++) {
      const text = trickyText(rng, 50 + rng.int(400));
      const ids: number[] = [];
      // cut wherever allowed (pieceChars 1), text pushed in random sizes
      const enc = new StreamEncoder(tok, (x) => ids.push(...x), 1);
      for (let i = 0; i < text.length;) {
        let n = 1 + rng.int(20);
        if (i + n < text.length && /[\uD800-\uDBFF]/.test(text[i + n - 1])) n++;
        enc.push(text.slice(i, i + n));
        i += n;
      }
      enc.finish();
      assert.deepEqual(ids, tok.encode(text), `${tok.toSpec().kind} ${JSON.stringify(text)}`);
      cases++;
    }
  }
  assert.equal(cases, 240);
});

test('finding 4: tokenizers with no safe cut (custom pattern, no pattern, SentencePiece) are encoded whole', () => {
  assert.equal(splitRuleFor(BpeTokenizer.train('aaa bbb aaa', 258, String.raw`\w+|\s`)), null);
  assert.equal(splitRuleFor(BpeTokenizer.train('aaa bbb aaa', 258, '')), null);
  const withSpaceSpecial = new BpeTokenizer({ pattern: BpeTokenizer.train('ab', 256, 'gpt4').model.pattern, merges: [], specialTokens: { '<end of>': 256 } });
  assert.equal(splitRuleFor(withSpaceSpecial), null);
});

test('finding 4: UTF-8 read in tiny chunks, the 90% cut in code points, and invalid bytes located', () => {
  const text = 'héllo wörld 中文 😀 ok\n'.repeat(40) + 'end 𝐀';
  writeFileSync(join(dir, 'multi.txt'), '\ufeff' + text); // the BOM is dropped, as before
  for (const chunk of [1, 2, 3, 5, 7, 4096]) {
    const out = join(dir, `multi-${chunk}`);
    prepareDatasetFrom(fileTextSource(join(dir, 'multi.txt'), chunk), out, 'char', () => {}, { pieceChars: 3, progress: false });
    const tok = CharTokenizer.fromText(text);
    const expected = wholeTextIds(text, tok);
    const got = prepared(out);
    assert.deepEqual(got.train, expected.train, `chunk ${chunk}`);
    assert.deepEqual(got.val, expected.val, `chunk ${chunk}`);
    assert.equal(got.train.length, Math.floor([...text].length * 0.9));
  }
  const bad = new TextEncoder().encode('abc'.repeat(10) + 'é');
  writeFileSync(join(dir, 'bad.txt'), Uint8Array.from([...bad.subarray(0, 31), 0x41, ...bad.subarray(31)]));
  for (const chunk of [4, 64]) {
    assert.throws(() => prepareDatasetFrom(fileTextSource(join(dir, 'bad.txt'), chunk), join(dir, 'bad'), 'char', () => {}, { progress: false }),
      /bad\.txt is not valid UTF-8 text: invalid byte sequence at or just before byte offset 30/);
  }
});

test('finding 4: a failed prepare leaves the previous dataset and no temporary files', () => {
  const out = join(dir, 'keep');
  prepareDatasetFrom(stringTextSource('some text to keep around'), out, 'char', () => {}, { progress: false });
  const before = prepared(out);
  assert.throws(() => prepareDatasetFrom(stringTextSource('ab'), out, 'char', () => {}, { progress: false }),
    (e: unknown) => e instanceof UserError && /only 2 tokens: too few/.test((e as Error).message));
  assert.deepEqual(prepared(out), before);
  assert.deepEqual(readdirSync(out).sort(), ['meta.json', 'meta.pkl', 'train.bin', 'val.bin']);
  assert.equal(existsSync(join(out, 'train.bin.tmp-' + process.pid)), false);
});
