// The command line on files made by other tools: yorick sample from nanoGPT's ckpt.pt and
// Hugging Face's GPT-2 (a folder, or the Hugging Face cache), yorick export back to both, and a
// clean error (no stack trace, non-zero exit) for each bad input of issue 11.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readHfGpt2 } from '../../src/io/hf-gpt2.js';
import { readNanoGptMeta } from '../../src/io/nanogpt-meta.js';
import { readNanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readZip, writeZip } from '../../src/io/zip.js';
import { loadTiktoken } from '../../src/node/tokenizers.js';
import { deserializeCheckpoint } from '../../src/train/checkpoint.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { repoRoot } from '../helpers.js';
import { interopFixtures, readFixture, readJson } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-interop-cli-'));
const nanoCkpt = join(interopFixtures, 'nanogpt-tiny', 'ckpt.pt');
const hfDir = join(interopFixtures, 'hf-gpt2-tiny');

export function yorick(args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function assertUserError(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exits non-zero');
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, 'no stack trace');
}

/** The text of one sample as yorick sample prints it (prompt included), without the separator. */
const sampleText = (stdout: string) => stdout.replace(/\n---------------\n$/, '');

const greedy = ['sample', '--temperature=0', '--num_samples=1'];

test("yorick sample --init_from=ckpt.pt: nanoGPT's 40 greedy tokens, decoded with the dataset's meta.pkl", () => {
  const expected = readJson('nanogpt-tiny/expected.json');
  const chars = readNanoGptMeta(readFixture('nanogpt-tiny/meta.pkl')).chars;
  const ck = readNanoGptCheckpoint(readFixture('nanogpt-tiny/ckpt.pt'));
  const dataset = String(ck.config.dataset);
  mkdirSync(join(dir, 'data', dataset), { recursive: true });
  copyFileSync(join(interopFixtures, 'nanogpt-tiny', 'meta.pkl'), join(dir, 'data', dataset, 'meta.pkl'));
  const r = yorick([...greedy, `--init_from=${nanoCkpt}`, '--max_new_tokens=40']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sampleText(r.stdout), expected.greedy_from_newline_40.map((i: number) => chars[i]).join(''));
  assert.match(r.stderr, /vocabulary from data\/shakespeare_char\/meta\.pkl/);
  // the same checkpoint found by --init_from=resume in an out_dir
  mkdirSync(join(dir, 'nano-out'));
  copyFileSync(nanoCkpt, join(dir, 'nano-out', 'ckpt.pt'));
  assert.equal(yorick([...greedy, '--out_dir=nano-out', '--max_new_tokens=40']).stdout, r.stdout);
  // without meta.pkl a 65-token model cannot be GPT-2's: say where meta.pkl was looked for
  assertUserError(yorick([...greedy, `--init_from=${nanoCkpt}`, '--data_dir=nowhere']), /vocab_size 65, too small for GPT-2's 50257 tokens, and there is no meta\.pkl at nowhere\/shakespeare_char\/meta\.pkl/);
});

test("yorick sample from Hugging Face's GPT-2: a folder, and --init_from=gpt2 from the Hugging Face cache", () => {
  const expected = readJson('hf-gpt2-tiny/expected.json');
  const want = loadTiktoken('gpt2').decode([...expected.input_ids, ...expected.greedy_10]);
  const args = [...greedy, '--max_new_tokens=10', `--start=${expected.text}`];
  const r = yorick([...args, `--init_from=${hfDir}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sampleText(r.stdout), want);
  // the cache layout huggingface_hub writes: models--<repo>/refs/main names the snapshot
  const home = join(dir, 'hf-home');
  const repo = join(home, 'hub', 'models--openai-community--gpt2');
  mkdirSync(join(repo, 'snapshots', 'abc123'), { recursive: true });
  mkdirSync(join(repo, 'snapshots', 'old'), { recursive: true }); // an older, incomplete snapshot
  mkdirSync(join(repo, 'refs'));
  writeFileSync(join(repo, 'refs', 'main'), 'abc123');
  for (const f of ['model.safetensors', 'config.json']) copyFileSync(join(hfDir, f), join(repo, 'snapshots', 'abc123', f));
  const cached = yorick([...args, '--init_from=gpt2'], { HF_HOME: home, HF_HUB_CACHE: '' });
  assert.equal(cached.code, 0, cached.stderr);
  assert.equal(sampleText(cached.stdout), want);
  assert.match(cached.stderr, /snapshots\/abc123\/model\.safetensors/);
  const missing = yorick([...args, '--init_from=gpt2-xl'], { HF_HOME: home, HF_HUB_CACHE: '' });
  assertUserError(missing, /GPT-2 weights "gpt2-xl" not found \(yorick never downloads weights\)/);
  assert.match(missing.stderr, /hf-home\/hub\/models--gpt2-xl\/snapshots\/\*/);
  assert.match(missing.stderr, /hf-home\/hub\/models--openai-community--gpt2-xl\/snapshots\/\*/);
});

/** A copy of the Hugging Face fixture with another config.json. */
function hfWithConfig(name: string, edit: (c: Record<string, unknown>) => void): string {
  const d = join(dir, name);
  mkdirSync(d);
  copyFileSync(join(hfDir, 'model.safetensors'), join(d, 'model.safetensors'));
  const config = JSON.parse(readFileSync(join(hfDir, 'config.json'), 'utf8'));
  edit(config);
  writeFileSync(join(d, 'config.json'), JSON.stringify(config));
  return d;
}

test('bad input: each a clear message and a non-zero exit, never a stack trace', () => {
  const write = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  // a pickle that asks for os.system: refused by name, nothing runs
  const evil = Uint8Array.from('\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03.', (c) => c.charCodeAt(0));
  const evilZip = write('evil.pt', writeZip([{ name: 'archive/data.pkl', data: evil }, { name: 'archive/version', data: new TextEncoder().encode('3\n') }]));
  assertUserError(yorick([...greedy, `--init_from=${evilZip}`]), /os\.system/);
  assert.equal(existsSync(join(dir, 'touch')), false);
  // a truncated zip
  const full = readFixture('nanogpt-tiny/ckpt.pt');
  assertUserError(yorick([...greedy, `--init_from=${write('cut.pt', full.subarray(0, full.length >> 1))}`]), /truncated/);
  // a storage shorter than its tensor
  const entries = readZip(full);
  const storage = [...entries.keys()].find((k) => /\/data\/\d+$/.test(k) && entries.get(k)!.length > 64)!;
  const short = write('short.pt', writeZip([...entries].map(([name, data]) => ({ name, data: name === storage ? data.subarray(0, data.length - 8) : data }))));
  assertUserError(yorick([...greedy, `--init_from=${short}`]), /holds \d+ bytes, the pickle says \d+ elements/);
  // a config.json that is not GPT-2's, and one whose shape disagrees with the weights
  assertUserError(yorick([...greedy, `--init_from=${hfWithConfig('llama', (c) => { c.model_type = 'llama'; })}`]), /model_type is "llama", this loader reads GPT-2 \("gpt2"\) only/);
  assertUserError(yorick([...greedy, `--init_from=${hfWithConfig('wide', (c) => { c.n_embd = 32; })}`]), /tensor "transformer\.wte\.weight" has shape \[50257, 16\], the model args .* imply \[50257, 32\]/);
  // not a file of any kind yorick reads
  assertUserError(yorick([...greedy, `--init_from=${write('notes.txt', new TextEncoder().encode('hello'))}`]), /notes\.txt: only 5 bytes; a zip file ends with a 22-byte end record/);
  assertUserError(yorick([...greedy, '--init_from=no/such/ckpt.pt']), /--init_from=no\/such\/ckpt\.pt: no such file or folder/);
  assertUserError(yorick(['export', '--format=onnx']), /--format must be nanogpt or hf, got "onnx"/);
});

// a small made-up text: words from a small vocabulary
const rng = new XoshiroRng(11);
const words = ['to', 'be', 'or', 'not', 'that', 'is', 'the', 'question', 'whether', 'tis', 'nobler'];
let text = '';
while (text.length < 12000) text += words[rng.int(words.length)] + (rng.random() < 0.1 ? '.\n' : ' ');
writeFileSync(join(dir, 'hamlet.txt'), text);

test('yorick export: ckpt.pt and Hugging Face files hold the checkpoint; nanoGPT\'s ckpt.pt samples as the original', () => {
  assert.equal(yorick(['prepare', '--input=hamlet.txt']).code, 0);
  assert.ok(existsSync(join(dir, 'data', 'hamlet', 'meta.pkl')), 'prepare writes meta.pkl for characters');
  const meta = JSON.parse(readFileSync(join(dir, 'data', 'hamlet', 'meta.json'), 'utf8'));
  assert.deepEqual(readNanoGptMeta(readFileSync(join(dir, 'data', 'hamlet', 'meta.pkl'))).chars, meta.tokenizer.chars);
  const train = yorick(['train', '--dataset=hamlet', '--out_dir=out-ham', '--n_layer=1', '--n_head=2', '--n_embd=16', '--block_size=16',
    '--batch_size=4', '--max_iters=6', '--eval_interval=3', '--eval_iters=2', '--warmup_iters=1', '--lr_decay_iters=6', '--device=reference', '--bias=true']);
  assert.equal(train.code, 0, train.stderr);
  const r = yorick(['export', '--format=nanogpt', '--out_dir=out-ham']);
  assert.equal(r.code, 0, r.stderr);
  const ours = deserializeCheckpoint(readSafetensors(readFileSync(join(dir, 'out-ham', 'ckpt.safetensors'))), 'ckpt');
  const ck = readNanoGptCheckpoint(readFileSync(join(dir, 'out-ham', 'ckpt.pt')));
  assert.equal(ck.iterNum, ours.state.iter_num);
  assert.equal(ck.bestValLoss, ours.state.best_val_loss);
  for (const [name, t] of ours.weights) assert.deepEqual(ck.stateDict.get(name)!.data, t.data, name);
  assert.equal(ck.optimizer!.step, ours.optimizer!.step);
  for (const [name, m] of ours.optimizer!.m) assert.deepEqual(ck.optimizer!.m.get(name), m, `exp_avg ${name}`);
  assert.deepEqual(ck.optimizer!.betas, [0.9, 0.99], "shakespeare_char_cpu's betas");
  assert.equal(ck.config.dataset, 'hamlet');
  assert.deepEqual(readNanoGptMeta(readFileSync(join(dir, 'out-ham', 'meta.pkl'))).chars, meta.tokenizer.chars);
  const a = yorick([...greedy, '--out_dir=out-ham', '--max_new_tokens=30', '--device=reference']);
  const b = yorick([...greedy, '--init_from=out-ham/ckpt.pt', '--max_new_tokens=30', '--device=reference']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.stdout, a.stdout);
  // seeded sampling too: sample.py's stream is the same for either file
  const seeded = ['sample', '--num_samples=2', '--max_new_tokens=20', '--device=reference', '--seed=7'];
  assert.equal(yorick([...seeded, '--init_from=out-ham/ckpt.pt']).stdout, yorick([...seeded, '--out_dir=out-ham']).stdout);

  const hf = yorick(['export', '--format=hf', '--out_dir=out-ham', '--out=ham-hf']);
  assert.equal(hf.code, 0, hf.stderr);
  assert.match(hf.stdout, /reads char tokens, not GPT-2's/);
  const back = readHfGpt2(readFileSync(join(dir, 'ham-hf', 'model.safetensors')), readFileSync(join(dir, 'ham-hf', 'config.json'), 'utf8'));
  assert.equal(back.modelArgs.activation, 'gelu', "yorick's GPT runs exact GELU: config.json says so");
  for (const [name, t] of ours.weights) assert.deepEqual(back.stateDict.get(name)!.data, t.data, name);
});
