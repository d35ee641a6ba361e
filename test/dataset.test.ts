// meta.json and the token files are checked against each other before training uses them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { loadDataset, readTokenFile } from '../src/node/dataset.js';
import { prepareDataset } from '../src/node/prepare.js';

const dir = mkdtempSync(join(tmpdir(), 'yorick-dataset-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n'.repeat(20);

function dataset(name: string, tokenizer: string): string {
  const out = join(dir, name);
  prepareDataset(text, out, tokenizer, () => {}, { progress: false });
  return out;
}

function editMeta(out: string, edit: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
  edit(m);
  writeFileSync(join(out, 'meta.json'), JSON.stringify(m));
}

function refused(out: string, pattern: RegExp): void {
  assert.throws(() => loadDataset(out), (e: unknown) => {
    assert.ok(e instanceof UserError, `a UserError, got ${String((e as Error)?.stack ?? e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test('finding 6: a gpt2 tokenizer in meta.json over character data is refused, and a char tokenizer over gpt2 data', () => {
  const char = dataset('char', 'char');
  const gpt2 = dataset('gpt2', 'gpt2');
  assert.equal(loadDataset(char).meta.vocab_size, loadDataset(char).tokenizer.vocabSize);
  const gpt2Spec = JSON.parse(readFileSync(join(gpt2, 'meta.json'), 'utf8')).tokenizer;
  const charSpec = JSON.parse(readFileSync(join(char, 'meta.json'), 'utf8')).tokenizer;
  editMeta(char, (m) => { m.tokenizer = gpt2Spec; });
  refused(char, /meta\.json: the tokenizer \(tiktoken gpt2\) has 50257 ids but vocab_size is \d+: the tokenizer and the data do not belong together/);
  // the char tokenizer with the gpt2 data's vocab_size: the ids give it away
  editMeta(gpt2, (m) => { m.tokenizer = charSpec; m.vocab_size = charSpec.chars.length; });
  refused(gpt2, /train\.bin: token \d+ at position 0 is outside the vocabulary \(vocab_size \d+ in meta\.json\)/);
});

test('finding 6: every field of meta.json is checked, naming it', () => {
  const out = dataset('fields', 'char');
  const good = readFileSync(join(out, 'meta.json'), 'utf8');
  const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
    [(m) => { m.vocab_size = '65'; }, /vocab_size must be an integer in \[1, 4294967296\], got "65"/],
    [(m) => { m.vocab_size = 0; }, /vocab_size must be an integer/],
    [(m) => { delete m.vocab_size; }, /vocab_size is missing/],
    [(m) => { m.train_tokens = -1; }, /train_tokens must be an integer/],
    [(m) => { m.val_tokens = 1.5; }, /val_tokens must be an integer/],
    [(m) => { m.dtype = 'int8'; }, /dtype must be "uint16" or "uint32", got "int8"/],
    [(m) => { m.dtype = 'uint16'; m.vocab_size = 70000; }, /dtype uint16 cannot hold the ids of a vocabulary of 70000/],
    [(m) => { m.tokenizer = null; }, /tokenizer must be an object with a "kind"/],
    [(m) => { m.tokenizer = { kind: 'nope' }; }, /its tokenizer cannot be loaded \(unknown tokenizer kind "nope"/],
    [(m) => { m.tokenizer = { kind: 'char', chars: [] }; }, /its tokenizer cannot be loaded \(char tokenizer: the vocabulary is empty\)/],
    [(m) => { m.tokenizer = { kind: 'tiktoken', encoding: 'p50k' }; }, /its tokenizer cannot be loaded \(unknown tiktoken encoding "p50k"/],
    [(m) => { m.train_tokens = (m.train_tokens as number) + 1; }, /train\.bin has \d+ bytes, meta\.json says \d+ tokens/],
  ];
  for (const [edit, pattern] of cases) {
    writeFileSync(join(out, 'meta.json'), good);
    editMeta(out, edit);
    refused(out, pattern);
  }
  writeFileSync(join(out, 'meta.json'), '[1, 2]');
  refused(out, /meta\.json: expected a JSON object/);
  writeFileSync(join(out, 'meta.json'), '{"vocab_size": ');
  refused(out, /meta\.json is not valid JSON/);
});

test('finding 6: a token file must be a whole number of tokens of its dtype', () => {
  const path = join(dir, 'odd.bin');
  writeFileSync(path, new Uint8Array(7));
  assert.throws(() => readTokenFile(path, 'uint16', 3, 10), /odd\.bin has 7 bytes, not a whole number of 2-byte \(uint16\) tokens/);
  writeFileSync(path, new Uint8Array(6));
  assert.throws(() => readTokenFile(path, 'uint32', 1, 10), /not a whole number of 4-byte \(uint32\) tokens/);
  writeFileSync(path, Uint8Array.from([1, 0, 2, 0, 9, 0]));
  assert.deepEqual([...readTokenFile(path, 'uint16', 3, 10, 1)], [1, 2, 9], 'read with one-byte positioned reads');
  assert.throws(() => readTokenFile(path, 'uint16', 3, 9), /token 9 at position 2 is outside the vocabulary/);
  assert.throws(() => readTokenFile(dir, 'uint16', 3, 9), /is a folder/);
});
