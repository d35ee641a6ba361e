// yorick train from weights made elsewhere, set up as nanoGPT's train.py sets itself up:
// seeded, the model built (its initialization drawn) and the weights loaded over it, the first
// batch drawn, an evaluation at the first iteration, then the steps. The losses yorick logs are
// checked against the model's loss on the batches that order of draws gives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BatchSampler, type Batch } from '../../src/data/batches.js';
import { readHfGpt2 } from '../../src/io/hf-gpt2.js';
import { gptFromStateDict } from '../../src/io/load-gpt.js';
import { readNanoGptMeta } from '../../src/io/nanogpt-meta.js';
import { readNanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import type { GPT } from '../../src/models/gpt.js';
import { loadDataset } from '../../src/node/dataset.js';
import { noGrad } from '../../src/tensor/tensor.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { deserializeCheckpoint } from '../../src/train/checkpoint.js';
import { repoRoot, shakespearePath, shakespeareSkip } from '../helpers.js';
import { interopFixtures, readFixture, readJson } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-train-from-'));
const hfDir = join(interopFixtures, 'hf-gpt2-tiny');

function yorick(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const metrics = (outDir: string) => readFileSync(join(dir, outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const stepLoss = (outDir: string, iter: number) => metrics(outDir).find((m) => m.iter === iter && 'loss' in m).loss;
const lossOf = (model: GPT, b: Batch) => noGrad(() => model.forward(b.x, b.y).loss!.item());

test("train --init_from=ckpt.pt continues nanoGPT's run: its weights, AdamW's moments and iter_num, a reseeded stream", () => {
  const ck = readNanoGptCheckpoint(readFixture('nanogpt-tiny/ckpt.pt'));
  const chars = readNanoGptMeta(readFixture('nanogpt-tiny/meta.pkl')).chars;
  // a text over exactly the checkpoint's characters, and its meta.pkl where sample.py would look
  const rng = new XoshiroRng(3);
  let text = chars.join('');
  while (text.length < 20000) text += chars[rng.int(chars.length)];
  writeFileSync(join(dir, 'shk.txt'), text);
  assert.equal(yorick('prepare', '--input=shk.txt').code, 0);
  mkdirSync(join(dir, 'data', String(ck.config.dataset)), { recursive: true });
  copyFileSync(join(interopFixtures, 'nanogpt-tiny', 'meta.pkl'), join(dir, 'data', String(ck.config.dataset), 'meta.pkl'));

  const r = yorick('train', `--init_from=${join(interopFixtures, 'nanogpt-tiny', 'ckpt.pt')}`, '--dataset=shk', '--out_dir=cont',
    `--max_iters=${ck.iterNum + 2}`, `--eval_interval=${ck.iterNum}`, '--eval_iters=2', '--batch_size=4', '--always_save_checkpoint=true', '--device=reference');

  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /note: block_size = 16 from .*ckpt\.pt \(the config said 64\)/);
  assert.match(r.stdout, /note: vocabulary checked against data\/shakespeare_char\/meta\.pkl/);
  assert.match(r.stdout, new RegExp(`starting from .*ckpt\\.pt at iteration ${ck.iterNum}`));
  assert.match(r.stderr, new RegExp(`step ${ck.iterNum}: train loss`), 'evaluates at the first iteration, as train.py');

  // the checkpoint of a run that stops at its first evaluation holds what was loaded (the run
  // above saves again at its last iteration)
  const atStart = yorick('train', `--init_from=${join(interopFixtures, 'nanogpt-tiny', 'ckpt.pt')}`, '--dataset=shk', '--out_dir=cont0',
    `--max_iters=${ck.iterNum}`, `--eval_interval=${ck.iterNum}`, '--eval_iters=2', '--batch_size=4', '--always_save_checkpoint=true', '--device=reference');
  assert.equal(atStart.code, 0, atStart.stderr);
  const saved = deserializeCheckpoint(readSafetensors(readFileSync(join(dir, 'cont0', 'ckpt.safetensors'))), 'cont0');
  assert.equal(saved.state.iter_num, ck.iterNum);
  for (const [name, t] of ck.stateDict) assert.deepEqual(saved.weights.get(name)!.data, t.data, name);
  assert.equal(saved.optimizer!.step, ck.optimizer!.step);
  for (const [name, m] of ck.optimizer!.m) assert.deepEqual(saved.optimizer!.m.get(name), m, `exp_avg ${name}`);
  assert.equal((saved.state.config as { beta2: number }).beta2, ck.optimizer!.betas[1], "betas from the checkpoint's optimizer, as load_state_dict restores them");

  // the first step trains on the batch drawn right after seeding and building the model
  const model = gptFromStateDict(ck.modelArgs, ck.stateDict, { seed: 1337 });
  const data = loadDataset(join(dir, 'data', 'shk'));
  const first = new BatchSampler({ train: data.train, val: data.val }, 4, 16, model.generator).getBatch('train');
  const logged = stepLoss('cont', ck.iterNum);
  assert.ok(Math.abs(logged - lossOf(model, first)) < 1e-6, `first step's loss ${logged} vs ${lossOf(model, first)}`);
  assert.equal(metrics('cont').filter((m) => 'loss' in m).length, 2, 'a fresh log: the two steps of this run');
});

test('finetune_shakespeare from GPT-2 in Hugging Face\'s layout: block_size fits the weights, an evaluation first, then the steps', () => {
  const rng = new XoshiroRng(5);
  const words = ['thou', 'art', 'more', 'lovely', 'and', 'temperate', 'rough', 'winds', 'do', 'shake', 'the', 'darling', 'buds', 'of', 'may'];
  let text = '';
  while (text.length < 8000) text += words[rng.int(words.length)] + (rng.random() < 0.15 ? ',\n' : ' ');
  writeFileSync(join(dir, 'sonnet.txt'), text);
  assert.equal(yorick('prepare', '--input=sonnet.txt', '--tokenizer=gpt2').code, 0);
  const r = yorick('train', 'finetune_shakespeare', `--init_from=${hfDir}`, '--dataset=sonnet', '--out_dir=ft', '--max_iters=2',
    '--eval_interval=2', '--eval_iters=2', '--gradient_accumulation_steps=2', '--always_save_checkpoint=true', '--device=reference');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /note: block_size = 32 from .*hf-gpt2-tiny \(the config said 1024\)/);
  assert.match(r.stdout, /note: bias = true from/);
  assert.match(r.stdout, /gelu_new/);
  assert.match(r.stderr, /step 0: train loss/);

  // iteration 0 evaluates (2 train, 2 val batches) between the first batch and the second micro-batch
  const hf = readHfGpt2(readFixture('hf-gpt2-tiny/model.safetensors'), readJson('hf-gpt2-tiny/config.json'));
  const model = gptFromStateDict(hf.modelArgs, hf.stateDict, { seed: 1337 });
  const data = loadDataset(join(dir, 'data', 'sonnet'));
  const s = new BatchSampler({ train: data.train, val: data.val }, 1, 32, model.generator);
  s.getBatch('train');
  for (const split of ['train', 'train', 'val', 'val'] as const) s.getBatch(split);
  const second = s.getBatch('train');
  const logged = stepLoss('ft', 0);
  assert.ok(Math.abs(logged - lossOf(model, second)) < 1e-5, `iteration 0 logs the last micro-batch's loss ${logged}, expected ${lossOf(model, second)}`);

  const saved = deserializeCheckpoint(readSafetensors(readFileSync(join(dir, 'ft', 'ckpt.safetensors'))), 'ft');
  assert.equal(saved.state.iter_num, 2);
  assert.equal((saved.state.model.args as { activation?: string }).activation, 'gelu_new');
  const sample = yorick('sample', '--out_dir=ft', '--num_samples=1', '--max_new_tokens=5', '--start=thou art', '--device=reference');
  assert.equal(sample.code, 0, sample.stderr);
  assert.match(sample.stdout, /^thou art/);
  const exp = yorick('export', '--format=nanogpt', '--out_dir=ft');
  assert.match(exp.stdout, /nanoGPT's model\.py computes exact GELU/);

  const chars = yorick('train', 'finetune_shakespeare', `--init_from=${hfDir}`, '--dataset=shk', '--device=reference');
  assert.notEqual(chars.code, 0);
  assert.match(chars.stderr, /GPT-2's weights read GPT-2's tokens; dataset "shk" uses the char tokenizer/);
  assert.doesNotMatch(chars.stderr, /\n\s+at /);
});

test('finetune_shakespeare on the GPT-2 tokens of Tiny Shakespeare (yorick prepare --dataset shakespeare)', { skip: shakespeareSkip }, () => {
  mkdirSync(join(dir, 'data', 'shakespeare'), { recursive: true });
  copyFileSync(shakespearePath, join(dir, 'data', 'shakespeare', 'input.txt'));
  const p = yorick('prepare', '--dataset=shakespeare');
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /tokenizer: tiktoken, vocab size 50,257/);
  assert.ok(!existsSync(join(dir, 'data', 'shakespeare', 'meta.pkl')), 'GPT-2 tokens: no meta.pkl, as nanoGPT\'s data/shakespeare');
  const r = yorick('train', 'finetune_shakespeare', `--init_from=${hfDir}`, '--max_iters=1', '--eval_iters=2', '--gradient_accumulation_steps=2', '--device=reference');
  assert.equal(r.code, 0, r.stderr);
  const evals = metrics('out-shakespeare').filter((m) => 'val_loss' in m);
  assert.deepEqual(evals.map((e) => e.iter), [0, 1], 'an evaluation first, and one at the last iteration');
  // random weights of GPT-2's vocabulary: about ln(50257) = 10.8 nats
  assert.ok(Math.abs(evals[0].val_loss - Math.log(50257)) < 1, `val loss ${evals[0].val_loss}`);
});
