// The command line refuses what would hang, escape its folders, allocate without bound or
// print a stack trace (issue 10, findings 7, 9 and 12): a clear message and a non-zero exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { parseSeed, seedNote } from '../src/train/seed.js';
import { repoRoot } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-guards-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function yorick(...args: string[]): { code: number; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

function refused(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exits 1: ${r.stderr}`);
  assert.match(r.stderr, /^error: /, 'a user error, not an internal one');
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

let text = '';
const rng = new XoshiroRng(3);
while (text.length < 6000) text += ['to be', 'or not', 'that is', 'the question'][rng.int(4)] + (rng.random() < 0.2 ? '.\n' : ' ');
writeFileSync(join(dir, 'tiny.txt'), text);
const tiny = ['--dataset=tiny', '--n_layer=1', '--n_head=1', '--n_embd=8', '--block_size=8', '--batch_size=2', '--eval_iters=1',
  '--eval_interval=2', '--warmup_iters=0', '--lr_decay_iters=3', '--device=reference', '--out_dir=out'];

test('setup: a tiny dataset and checkpoint', () => {
  assert.equal(yorick('prepare', '--input', 'tiny.txt').code, 0);
  const r = yorick('train', ...tiny, '--max_iters=2');
  assert.equal(r.code, 0, r.stderr);
});

test('finding 12: --constructor, --__proto__, --toString and friends are not config keys', () => {
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    refused(yorick('train', ...tiny, `--${key}=1`), new RegExp(`unknown config key "${key}"`));
  }
  writeFileSync(join(dir, 'proto.json'), '{"__proto__": {"n_layer": 2}}');
  refused(yorick('train', 'proto.json'), /proto\.json: unknown config key "__proto__"/);
  refused(yorick('train', 'constructor'), /unknown config "constructor"/);
  refused(yorick('sample', '--out_dir=out', '--__proto__=1'), /unknown option --__proto__/);
});

test('finding 12: seeds are integers in PyTorch\'s range, kept exactly; 2^32 says it is seed 0\'s stream, as in PyTorch', () => {
  assert.equal(parseSeed('4294967296', 'seed'), 2 ** 32);
  assert.equal(parseSeed(-1, 'seed'), -1);
  assert.throws(() => parseSeed('18446744073709551616', 'seed'), /seed 18446744073709551616 is outside PyTorch's seed range \[-2\^63, 2\^64\)/);
  assert.throws(() => parseSeed('-9223372036854775809', 'seed'), /outside PyTorch's seed range/);
  assert.throws(() => parseSeed('18446744073709551615', 'seed'), /yorick keeps seeds exactly only up to 2\^53 - 1/);
  assert.throws(() => parseSeed(1.5, 'seed'), /seed must be an integer, got 1\.5/);
  assert.throws(() => parseSeed('1e3', 'seed'), /seed must be an integer, got "1e3"/);
  assert.equal(seedNote(1337), null);
  assert.match(seedNote(2 ** 32)!, /seed 4294967296 gives the same random numbers as seed 0/);
  assert.match(seedNote(-1)!, /as seed 4294967295/);
  // the note is true of the generator
  const a = new XoshiroRng(2 ** 32), b = new XoshiroRng(0), c = new XoshiroRng(-1), d = new XoshiroRng(2 ** 32 - 1);
  for (let k = 0; k < 5; k++) {
    assert.equal(a.nextUint32(), b.nextUint32());
    assert.equal(c.nextUint32(), d.nextUint32());
  }
  refused(yorick('train', ...tiny, '--seed=18446744073709551616'), /command line: seed 18446744073709551616 is outside PyTorch's seed range/);
  refused(yorick('train', ...tiny, '--seed=0.5'), /seed must be an integer/);
  refused(yorick('sample', '--out_dir=out', '--seed=abc'), /--seed must be an integer, got "abc"/);
  const r = yorick('sample', '--out_dir=out', '--seed=4294967296', '--num_samples=1', '--max_new_tokens=3', '--start=to');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /seed 4294967296 gives the same random numbers as seed 0/);
  const r0 = yorick('sample', '--out_dir=out', '--seed=0', '--num_samples=1', '--max_new_tokens=3', '--start=to');
  assert.equal(r.stdout, r0.stdout);
});

test('finding 12: --dataset cannot leave data_dir', () => {
  for (const name of ['..', '.', '../x', 'a/b', '/etc']) {
    refused(yorick('train', ...tiny, `--dataset=${name}`), /dataset ".*" may use only letters, digits/);
    refused(yorick('prepare', '--input', 'tiny.txt', `--dataset=${name}`), /dataset name ".*" may use only/);
  }
  assert.equal(existsSync(join(dir, 'train.bin')), false);
});

test('finding 12: --start=FILE: reads a bounded prompt; --num_samples and --max_new_tokens are bounded', () => {
  refused(yorick('sample', '--out_dir=out', '--start=FILE:/dev/zero'), /--start file \/dev\/zero is larger than 1,048,576 bytes/);
  refused(yorick('sample', '--out_dir=out', '--start=FILE:nowhere.txt'), /--start file not found: nowhere\.txt/);
  refused(yorick('sample', '--out_dir=out', '--num_samples=1e9'), /--num_samples must be at most 10,000, got 1e9/);
  refused(yorick('sample', '--out_dir=out', '--max_new_tokens=1e9'), /--max_new_tokens must be at most 1,000,000/);
  writeFileSync(join(dir, 'prompt.txt'), 'to be');
  assert.equal(yorick('sample', '--out_dir=out', '--start=FILE:prompt.txt', '--num_samples=1', '--max_new_tokens=2').code, 0);
});

test('finding 12: a split pattern that backtracks exponentially is refused, from a file or the command line', () => {
  writeFileSync(join(dir, 'evil.model'), 'minbpe v1\n(a+)+$\n0\n');
  const r = yorick('tokenizer', 'encode', '--tokenizer', 'bpe:evil.model', '--text', 'a'.repeat(40) + '!');
  refused(r, /split pattern "\(a\+\)\+\$": the group before \+ repeats something that itself repeats/);
  assert.ok(r.ms < 10_000, 'no hang');
  writeFileSync(join(dir, 'evil.json'), JSON.stringify({ kind: 'bpe', pattern: '(x|xy)*z', merges: [] }));
  refused(yorick('tokenizer', 'encode', '--tokenizer', 'bpe:evil.json', '--text', 'x'), /repeats or alternates/);
  refused(yorick('tokenizer', 'train', '--input', 'tiny.txt', '--vocab_size', '260', '--pattern', '(a*)*b'), /exponential time/);
});

test('finding 7: folders, backends and sizes that cannot work are refused before any work, without a stack trace', () => {
  mkdirSync(join(dir, 'a-folder'), { recursive: true });
  refused(yorick('prepare', '--input', 'a-folder'), /input file a-folder is a folder; expected a file/);
  const t = yorick('tokenizer', 'train', '--input', 'tiny.txt', '--vocab_size', '300', '--output', 'missing/dir/tok');
  refused(t, /--output: the folder missing\/dir does not exist/);
  assert.doesNotMatch(t.stdout + t.stderr, /merge|trained/, 'refused before training');
  refused(yorick('train', ...tiny, '--device=gpu9000'), /unknown device "gpu9000"; expected auto or one of/);
  writeFileSync(join(dir, 'a-file'), 'x');
  refused(yorick('train', ...tiny, '--out_dir=a-file'), /out_dir a-file is a file, not a folder/);
  refused(yorick('train', ...tiny, '--batch_size=100000000'), /batch_size x block_size = 100000000 x 8 = 800,000,000 tokens per micro-batch is over the limit of 16,777,216/);
  refused(yorick('train', ...tiny, '--block_size=100000000'), /block_size \(100000000\) is over yorick's limit of 1,048,576/);
  refused(yorick('train', ...tiny, '--n_layer=1000000'), /n_layer \(1000000\) is over yorick's limit/);
  refused(yorick('train', ...tiny, '--n_layer=4096', '--n_embd=65536', '--n_head=1'), /GiB for training, over the limit/);
  refused(yorick('tokenizer', 'decode', '--tokenizer', 'data/tiny/meta.json', '--ids', '999'), /char tokenizer: id 999 at position 0 is out of range/);
});

test('finding 9: a second run on an out_dir in use is refused; a stale lock is broken', () => {
  writeFileSync(join(dir, 'out', '.lock'), `${process.pid}\n`);
  refused(yorick('train', ...tiny, '--max_iters=2'), new RegExp(`out_dir out is in use by another run \\(PID ${process.pid}`));
  writeFileSync(join(dir, 'out', '.lock'), '999999999\n');
  writeFileSync(join(dir, 'out', 'ckpt.safetensors.tmp-999999999'), 'half a checkpoint');
  const r = yorick('train', ...tiny, '--max_iters=2');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /removed 1 temporary file\(s\) left in out by interrupted runs: ckpt\.safetensors\.tmp-999999999/);
  assert.equal(existsSync(join(dir, 'out', '.lock')), false, 'the lock is released at the end');
});
