// Fuzz: mutated meta.json files and token files (seeded). Loading a dataset either succeeds with
// data that agree with their meta.json, or fails with a UserError; never another error, a hang,
// or a dataset whose ids are outside its tokenizer's vocabulary.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { loadDataset, type Dataset } from '../../src/node/dataset.js';
import { prepareDataset } from '../../src/node/prepare.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { BpeTokenizer } from '../../src/tokenizers/bpe/tokenizer.js';
import { fuzzCase, mutateBytes, mutateJson, newStats, report } from './mutate.js';

const dir = mkdtempSync(join(tmpdir(), 'yorick-fuzz-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = 'O Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father and refuse thy name.\n'.repeat(8);

function datasets(): string[] {
  writeFileSync(join(dir, 'bpe.json'), JSON.stringify(BpeTokenizer.train(text, 280, 'gpt4').toSpec()));
  return [['char', 'char'], ['gpt2', 'gpt2'], ['bpe', `bpe:${join(dir, 'bpe.json')}`]].map(([name, tok]) => {
    const out = join(dir, name);
    prepareDataset(text, out, tok, () => {}, { progress: false });
    return out;
  });
}

/** What a loaded dataset must satisfy, whatever its files said. */
function consistent(d: Dataset): void {
  assert.equal(d.tokenizer.vocabSize, d.meta.vocab_size);
  assert.equal(d.train.length, d.meta.train_tokens);
  assert.equal(d.val.length, d.meta.val_tokens);
  for (const split of [d.train, d.val]) for (const id of split) assert.ok(id < d.meta.vocab_size);
}

test('fuzz meta.json and token files: 600 mutated datasets, only UserErrors or consistent data', { timeout: 60_000 }, () => {
  const rng = new XoshiroRng(77);
  const bases = datasets();
  const metaStats = newStats(), tokenStats = newStats();
  const work = join(dir, 'work');
  mkdirSync(work);
  for (let k = 0; k < 600; k++) {
    const base = bases[k % bases.length];
    for (const f of ['meta.json', 'train.bin', 'val.bin']) copyFileSync(join(base, f), join(work, f));
    if (k % 2 === 0) {
      const meta = readFileSync(join(base, 'meta.json'));
      const mutated = rng.random() < 0.6 ? new TextEncoder().encode(mutateJson(rng, JSON.parse(meta.toString('utf8')))) : mutateBytes(rng, meta);
      writeFileSync(join(work, 'meta.json'), mutated);
      fuzzCase(metaStats, mutated, [UserError], () => consistent(loadDataset(work)));
    } else {
      const split = rng.random() < 0.5 ? 'train.bin' : 'val.bin';
      const bytes = new Uint8Array(readFileSync(join(base, split)));
      const mutated = mutateBytes(rng, bytes);
      writeFileSync(join(work, split), mutated);
      fuzzCase(tokenStats, mutated, [UserError], () => consistent(loadDataset(work)));
    }
  }
  report('meta.json', metaStats);
  report('token files', tokenStats);
  assert.equal(metaStats.cases + tokenStats.cases, 600);
  assert.ok(metaStats.refused > 100 && tokenStats.refused > 100);
});
