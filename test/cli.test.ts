// The yorick command end to end on a small made-up text: prepare, train, resume, sample, and
// the clear errors a user's mistakes must get.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, truncateSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { repoRoot } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-cli-'));

function yorick(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A user's mistake: non-zero exit, the expected words, and no stack trace. */
function assertUserError(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exits non-zero');
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

// 20 kB of words from a small vocabulary: enough for a train/val split and a few batches
const rng = new XoshiroRng(7);
const words = ['the', 'king', 'shall', 'speak', 'and', 'we', 'hear', 'him', 'now', 'my', 'lord'];
let text = '';
while (text.length < 20000) text += words[rng.int(words.length)] + (rng.random() < 0.1 ? '.\n' : ' ');
writeFileSync(join(dir, 'tiny.txt'), text);

const tinyModel = ['--dataset=tiny', '--n_layer=1', '--n_head=2', '--n_embd=16', '--block_size=16', '--batch_size=4',
  '--eval_iters=2', '--eval_interval=3', '--always_save_checkpoint=true', '--warmup_iters=1', '--lr_decay_iters=9', '--device=reference',
  '--dropout=0.1']; // dropout: resuming must continue its masks' stream too

function stepLosses(outDir: string): Map<number, number> {
  const lines = readFileSync(join(dir, outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return new Map(lines.filter((l) => 'loss' in l).map((l) => [l.iter, l.loss]));
}

test('prepare writes train.bin, val.bin and meta.json with a 90/10 split', () => {
  const r = yorick('prepare', '--input', 'tiny.txt');
  assert.equal(r.code, 0, r.stderr);
  const meta = JSON.parse(readFileSync(join(dir, 'data/tiny/meta.json'), 'utf8'));
  const chars = [...new Set(text)].sort();
  assert.equal(meta.vocab_size, chars.length);
  assert.deepEqual(meta.tokenizer.chars, chars);
  assert.equal(meta.train_tokens, Math.floor(text.length * 0.9));
  assert.equal(statSync(join(dir, 'data/tiny/train.bin')).size, 2 * meta.train_tokens);
  assert.equal(statSync(join(dir, 'data/tiny/val.bin')).size, 2 * (text.length - meta.train_tokens));
  const ids = new Uint16Array(Uint8Array.from(readFileSync(join(dir, 'data/tiny/val.bin'))).buffer);
  assert.equal(chars[ids[0]], text[meta.train_tokens], 'val.bin starts where train.bin ends');
});

test('train saves a checkpoint and a metrics log; resume continues the same run exactly', () => {
  const full = yorick('train', ...tinyModel, '--max_iters=9', '--out_dir=out-full');
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stdout, /device: reference/);
  assert.ok(existsSync(join(dir, 'out-full/ckpt.safetensors')));
  const first = yorick('train', ...tinyModel, '--max_iters=6', '--out_dir=out-resume');
  assert.equal(first.code, 0, first.stderr);
  const second = yorick('train', ...tinyModel, '--max_iters=9', '--out_dir=out-resume', '--init_from=resume');
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /resuming from .* at iteration 6/);
  const a = stepLosses('out-full'), b = stepLosses('out-resume');
  // iterations numbered as nanoGPT numbers them: the first step is 0
  assert.deepEqual([...a.keys()].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (let it = 0; it < 9; it++) assert.equal(b.get(it), a.get(it), `loss at iteration ${it}`);
  assert.ok(a.get(8)! < a.get(0)!, 'the loss goes down');
});

test('sample prints text from the checkpoint, the same for the same seed', () => {
  const args = ['sample', '--out_dir=out-full', '--num_samples=2', '--max_new_tokens=40', '--start=the king', '--seed=3'];
  const r1 = yorick(...args), r2 = yorick(...args);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r1.stdout, r2.stdout);
  const samples = r1.stdout.split('---------------\n').filter((s) => s.length);
  assert.equal(samples.length, 2);
  for (const s of samples) {
    assert.ok(s.startsWith('the king'));
    assert.equal([...s.trimEnd()].length >= 'the king'.length, true);
  }
  const greedy1 = yorick('sample', '--out_dir=out-full', '--num_samples=1', '--max_new_tokens=20', '--temperature=0', '--seed=1');
  const greedy2 = yorick('sample', '--out_dir=out-full', '--num_samples=1', '--max_new_tokens=20', '--temperature=0', '--seed=2');
  assert.equal(greedy1.stdout, greedy2.stdout, 'greedy sampling does not depend on the seed');
  const noTopK = yorick('sample', '--out_dir=out-full', '--num_samples=1', '--max_new_tokens=20', '--top_k=none', '--top_p=0.9');
  assert.equal(noTopK.code, 0, noTopK.stderr);
  assert.notEqual(noTopK.stdout, r1.stdout.split('---------------\n')[0] + '---------------\n');
});

test('bad input: clear messages, non-zero exit, no stack trace', () => {
  writeFileSync(join(dir, 'empty.txt'), '');
  assertUserError(yorick('prepare', '--input', 'empty.txt'), /empty/);
  assertUserError(yorick('prepare', '--input', 'missing.txt'), /not found: missing\.txt/);
  writeFileSync(join(dir, 'bad.txt'), Buffer.from([0x61, 0xff, 0xfe]));
  assertUserError(yorick('prepare', '--input', 'bad.txt'), /not valid UTF-8/);
  assertUserError(yorick('train', ...tinyModel, '--n_embd=15', '--n_head=2'), /n_embd \(15\) must be divisible by n_head \(2\)/);
  assertUserError(yorick('train', ...tinyModel, '--n_layr=2'), /unknown config key "n_layr"/);
  assertUserError(yorick('train', ...tinyModel, '--batch_size=many'), /batch_size must be a number, got "many"/);
  assertUserError(yorick('train', ...tinyModel, '--block_size=5000', '--max_iters=1'), /block_size \(5000\)/);
  assertUserError(yorick('train', 'no_such_config'), /unknown config "no_such_config"/);
  writeFileSync(join(dir, 'cfg.json'), '{"n_layer": "four"}');
  assertUserError(yorick('train', 'cfg.json'), /cfg\.json: n_layer must be a number/);
  assertUserError(yorick('train', ...tinyModel, '--dataset=nothing'), /no dataset in data[/\\]nothing/);
  assertUserError(yorick('sample', '--out_dir=nowhere'), /no checkpoint at nowhere/);
  assertUserError(yorick('sample', '--out_dir=out-full', '--start=Zebra!'), /character "Z".*position 0/);
  assertUserError(yorick('sample', '--out_dir=out-full', '--temperature=-1'), /temperature must be >= 0/);
});

test('a truncated or corrupt checkpoint or data file is refused clearly', () => {
  copyFileSync(join(dir, 'out-full/ckpt.safetensors'), join(dir, 'cut.safetensors'));
  const size = statSync(join(dir, 'cut.safetensors')).size;
  truncateSync(join(dir, 'cut.safetensors'), Math.floor(size / 2));
  const outCut = join(dir, 'out-cut');
  assert.equal(yorick('train', ...tinyModel, '--max_iters=0', `--out_dir=${outCut}`).code, 0);
  copyFileSync(join(dir, 'cut.safetensors'), join(outCut, 'ckpt.safetensors'));
  assertUserError(yorick('sample', `--out_dir=${outCut}`), /truncated/);
  writeFileSync(join(outCut, 'ckpt.safetensors'), 'not a checkpoint at all');
  assertUserError(yorick('sample', `--out_dir=${outCut}`), /ckpt\.safetensors/);
  writeFileSync(join(dir, 'data/tiny/val.bin'), Buffer.alloc(10));
  assertUserError(yorick('train', ...tinyModel), /val\.bin has 10 bytes/);
});
