// Fuzz: mutated tokenizer model files (seeded): minbpe .model text, BPE JSON specs, tiktoken
// rank files and SentencePiece .model protobufs. Each loads (and then encodes and decodes a
// text without trouble) or fails with a UserError; never another error or a hang.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { loadBpeFile, loadTokenizer } from '../../src/node/tokenizers.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe/tokenizer.js';
import { base64Encode } from '../../src/tokenizers/bytes.js';
import { SpmTokenizer } from '../../src/tokenizers/spm/tokenizer.js';
import { ENCODINGS } from '../../src/tokenizers/tiktoken/encodings.js';
import { parseRankFile } from '../../src/tokenizers/tiktoken/rank-file.js';
import { TiktokenTokenizer } from '../../src/tokenizers/tiktoken/tokenizer.js';
import type { Tokenizer } from '../../src/tokenizers/types.js';
import { repoRoot } from '../helpers.js';
import { fuzzCase, mutateBytes, mutateJson, newStats, report } from './mutate.js';

const dir = mkdtempSync(join(tmpdir(), 'yorick-fuzz-tok-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sample = "Now is the winter of our discontent\nMade glorious summer by this sun of York; 123 ok? héllo 😀  \n";

/** A loaded tokenizer must encode and decode (UserErrors allowed: a model may lack what the text needs). */
function exercise(tok: Tokenizer): void {
  const ids = tok.encode(sample);
  tok.decode(ids);
  const d = tok.streamDecoder();
  d.push(ids.slice(0, 5));
  d.flush();
}

test('fuzz minbpe .model files and BPE JSON specs: 400 cases', { timeout: 60_000 }, () => {
  const rng = new XoshiroRng(5);
  const trained = BpeTokenizer.train(sample.repeat(4), 290, 'gpt4', { '<|end|>': 290 });
  const modelText = new TextEncoder().encode(trained.toMinbpeModel());
  const spec = trained.toSpec();
  const modelStats = newStats(), specStats = newStats();
  for (let k = 0; k < 200; k++) {
    const bytes = mutateBytes(rng, modelText);
    const path = join(dir, 'fuzz.model');
    writeFileSync(path, bytes);
    fuzzCase(modelStats, bytes, [UserError], () => exercise(loadBpeFile(path)));
    const json = mutateJson(rng, spec);
    fuzzCase(specStats, json, [UserError], () => exercise(loadTokenizer(JSON.parse(json))));
  }
  report('minbpe .model', modelStats);
  report('BPE JSON spec', specStats);
  assert.ok(modelStats.accepted > 0 && modelStats.refused > 0 && specStats.refused > 0);
});

test('fuzz tiktoken rank files: 200 cases', { timeout: 60_000 }, () => {
  const rng = new XoshiroRng(6);
  // every byte, then a few merged tokens: a small rank file in tiktoken's format
  const lines: string[] = [];
  for (let b = 0; b < 256; b++) lines.push(`${base64Encode(Uint8Array.of(b))} ${b}`);
  ['th', 'he', 'the', ' the', 'in', 'ou', 'er'].forEach((t, i) => lines.push(`${base64Encode(new TextEncoder().encode(t))} ${256 + i}`));
  const file = new TextEncoder().encode(lines.join('\n') + '\n');
  const stats = newStats();
  for (let k = 0; k < 200; k++) {
    let bytes: Uint8Array;
    if (k % 2 === 0) bytes = mutateBytes(rng, file);
    else {
      // line-level: the file's lines reordered, dropped, repeated or given other ranks
      const ls = lines.slice();
      const i = rng.int(ls.length), j = rng.int(ls.length);
      const r = rng.int(4);
      if (r === 0) [ls[i], ls[j]] = [ls[j], ls[i]];
      else if (r === 1) ls.splice(256 + rng.int(7), 1);
      else if (r === 2) ls.push(ls[i]);
      else ls[256 + rng.int(7)] = ls[256 + rng.int(7)].replace(/\d+$/, String([0, 255, 262, 263, 50256, 50257, 99999999][rng.int(7)]));
      bytes = new TextEncoder().encode(ls.join('\n') + (rng.random() < 0.5 ? '\n' : '\n\n'));
    }
    fuzzCase(stats, bytes, [UserError], () => exercise(new TiktokenTokenizer(ENCODINGS.gpt2, parseRankFile(bytes, 'fuzz.tiktoken'))));
  }
  report('tiktoken rank file', stats);
  assert.ok(stats.accepted > 0 && stats.refused > 0);
});

test('fuzz SentencePiece .model files: 300 cases', { timeout: 60_000 }, () => {
  const rng = new XoshiroRng(7);
  const model = new Uint8Array(readFileSync(join(repoRoot, 'test', 'fixtures', 'tokenizers', 'sentencepiece', 'shakespeare-bpe-1000.model')));
  const stats = newStats();
  for (let k = 0; k < 300; k++) {
    const bytes = mutateBytes(rng, model);
    fuzzCase(stats, bytes, [UserError], () => exercise(new SpmTokenizer(bytes, 'fuzz.model')));
    if (k % 10 === 0) {
      const spec = { kind: 'spm', model_base64: base64Encode(bytes) };
      fuzzCase(stats, bytes, [UserError], () => exercise(loadTokenizer(spec)));
    }
  }
  report('SentencePiece .model', stats);
  assert.ok(stats.accepted > 0 && stats.refused > 0);
});
