// "Past one machine", end to end for one process: yorick trains a small model and exports
// nanoGPT's ckpt.pt; PyTorch reads it (weights_only=True, or the same allow-list on PyTorch 1.x);
// scripts/nanogpt_check.py (nanoGPT's model and loops, for yorick) samples the same greedy tokens
// as yorick sample and continues training under torchrun (one process, DistributedDataParallel
// on gloo) with the losses and weights yorick's own continuation gives; and the checkpoint
// PyTorch saves comes back into yorick. Runs only where PyTorch imports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { deserializeCheckpoint } from '../../src/train/checkpoint.js';
import { assertClose, repoRoot } from '../helpers.js';
import { findPython, torchSkip } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const checker = join(repoRoot, 'scripts', 'nanogpt_check.py');

test('yorick -> ckpt.pt -> nanoGPT (sample, torchrun training step) -> ckpt.pt -> yorick', { skip: torchSkip() }, (t) => {
  const py = findPython('torch')!;
  const dir = mkdtempSync(join(tmpdir(), 'yorick-past-one-machine-'));
  const yorick = (...args: string[]) => {
    const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `yorick ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const python = (args: string[]) => {
    const r = spawnSync(py, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    return { ok: r.status === 0, out: r.stdout, err: r.stderr };
  };
  const major = Number(spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.split('.')[0]);

  const rng = new XoshiroRng(17);
  const words = ['to', 'be', 'or', 'not', 'that', 'is', 'the', 'question', 'whether', 'tis', 'nobler', 'in', 'mind'];
  let text = '';
  while (text.length < 15000) text += words[rng.int(words.length)] + (rng.random() < 0.1 ? '.\n' : ' ');
  writeFileSync(join(dir, 'hamlet.txt'), text);
  yorick('prepare', '--input=hamlet.txt');
  const run = ['--dataset=hamlet', '--n_layer=2', '--n_head=2', '--n_embd=32', '--block_size=16', '--batch_size=4', '--eval_iters=2',
    '--warmup_iters=1', '--lr_decay_iters=6', '--bias=true', '--always_save_checkpoint=true', '--device=reference'];
  yorick('train', ...run, '--out_dir=small', '--max_iters=6', '--eval_interval=3');
  // PyTorch 1.x has no flash attention: nanoGPT's model then holds attn.bias buffers and loads strictly
  yorick('export', '--format=nanogpt', '--out_dir=small', ...(major < 2 ? ['--attn_bias_buffers'] : []));

  // sample.py's greedy tokens
  const start = 'to be or';
  const s = python([checker, 'sample', 'small/ckpt.pt', `--start=${start}`, '--max_new_tokens=30']);
  assert.ok(s.ok, s.err);
  const ref = JSON.parse(s.out);
  t.diagnostic(`PyTorch ${ref.torch_version}, ckpt.pt read with ${ref.how}`);
  const ours = yorick('sample', '--init_from=small/ckpt.pt', '--temperature=0', '--num_samples=1', '--max_new_tokens=30', `--start=${start}`, '--device=reference');
  assert.equal(ours.replace(/\n---------------\n$/, ''), ref.text);

  // train.py --init_from=resume for two iterations, under torchrun when it runs here
  const steps = ['--steps=2', '--eval_interval=2', '--eval_iters=2', '--save=from-torch.pt'];
  const torchrun = (opts: string[]) => python(['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1', ...opts, checker, 'train', 'small/ckpt.pt', ...steps]);
  let r = torchrun([]);
  if (!r.ok && /'NoneType' object has no attribute 'get'/.test(r.err)) {
    // PyTorch 1.13's torchrun on Python 3.11: its default --redirects=0 parses to None (IntFlag
    // iteration no longer yields the zero member); any single-stream value avoids it
    t.diagnostic('torchrun fails with its default --redirects here (PyTorch 1.13 on Python 3.11); retrying with --redirects=2 --tee=2');
    r = torchrun(['--redirects=2', '--tee=2']);
  }
  if (!r.ok) {
    t.diagnostic(`torchrun did not run here (${r.err.trim().split('\n').pop()}); one plain process instead`);
    r = python([checker, 'train', 'small/ckpt.pt', ...steps]);
  }
  assert.ok(r.ok, r.err);
  const torchRun = JSON.parse(r.out);
  t.diagnostic(`nanoGPT's loop ran ${torchRun.ddp ? `under torchrun: DistributedDataParallel, ${torchRun.world_size} process, ${torchRun.backend}` : 'in one plain process'}`);
  const from = readNanoGptCheckpoint(readFileSync(join(dir, 'small', 'ckpt.pt'))).iterNum;
  assert.deepEqual(torchRun.losses.map((l: number[]) => l[0]), [from, from + 1]);

  // yorick's continuation of the same ckpt.pt: the same evaluation, losses and weights
  yorick('train', ...run, '--init_from=small/ckpt.pt', '--out_dir=cont', `--max_iters=${from + 2}`, '--eval_interval=2');
  const log = readFileSync(join(dir, 'cont', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const [evalIter, trainLoss, valLoss] = torchRun.evals[0];
  const ev = log.find((m) => m.iter === evalIter && 'val_loss' in m);
  assert.ok(Math.abs(ev.train_loss - trainLoss) < 1e-5 && Math.abs(ev.val_loss - valLoss) < 1e-5, `evaluation at ${evalIter}: ${ev.train_loss}/${ev.val_loss} vs PyTorch ${trainLoss}/${valLoss}`);
  for (const [iter, loss] of torchRun.losses) {
    const mine = log.find((m) => m.iter === iter && 'loss' in m).loss;
    assert.ok(Math.abs(mine - loss) < 1e-5, `iteration ${iter}: loss ${mine} vs PyTorch ${loss}`);
  }
  const back = readNanoGptCheckpoint(readFileSync(join(dir, 'from-torch.pt')));
  const cont = deserializeCheckpoint(readSafetensors(readFileSync(join(dir, 'cont', 'ckpt.safetensors'))), 'cont');
  assert.equal(back.iterNum, cont.state.iter_num);
  for (const [name, w] of cont.weights) assertClose(back.stateDict.get(name)!.data, w.data, 1e-5, `${name} after two steps`);
  assert.equal(back.optimizer!.step, cont.optimizer!.step);

  // and the way back: PyTorch's own torch.save output samples in yorick as in nanoGPT
  mkdirSync(join(dir, 'back'));
  writeFileSync(join(dir, 'back', 'ckpt.pt'), readFileSync(join(dir, 'from-torch.pt')));
  const s2 = python([checker, 'sample', 'back/ckpt.pt', `--start=${start}`, '--max_new_tokens=30']);
  assert.ok(s2.ok, s2.err);
  const again = yorick('sample', '--out_dir=back', '--temperature=0', '--num_samples=1', '--max_new_tokens=30', `--start=${start}`, '--device=reference');
  assert.equal(again.replace(/\n---------------\n$/, ''), JSON.parse(s2.out).text);
});
