// How a training run stops (issue 10): interrupted between steps, before or during an
// evaluation, at its last iteration, or because it diverged. Every stop leaves a state that
// resumes with the losses of the run that was never stopped, and never a checkpoint of NaNs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { splitTrainVal } from '../src/data/batches.js';
import { UserError } from '../src/errors.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { type CheckpointParts, loadCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { type EvalEvent, Trainer, type TrainHooks } from '../src/train/trainer.js';

const backend = new ReferenceBackend();

// words from a small vocabulary: a text a tiny model learns something of in a few steps
const rng = new XoshiroRng(11);
const words = ['to', 'be', 'or', 'not', 'that', 'is', 'the', 'question'];
let text = '';
while (text.length < 4000) text += words[rng.int(words.length)] + (rng.random() < 0.15 ? '.\n' : ' ');
const chars = [...new Set(text)].sort();
const ids = [...text].map((c) => chars.indexOf(c));
const data = { ...splitTrainVal(ids, chars.length), vocabSize: chars.length, tokenizer: { kind: 'char', chars } };

function config(over: Record<string, string> = {}): TrainConfig {
  return resolveConfig({}, {
    n_layer: '1', n_head: '2', n_embd: '16', block_size: '8', batch_size: '4', eval_iters: '2', eval_interval: '4',
    warmup_iters: '1', lr_decay_iters: '30', learning_rate: '1e-2', dropout: '0.1', gradient_accumulation_steps: '1',
    always_save_checkpoint: 'false', max_iters: '12', ...over,
  });
}

interface Log { steps: Map<number, number>; evals: EvalEvent[]; saves: number[] }

async function run(trainer: Trainer, hooks: TrainHooks = {}, log: Log = { steps: new Map(), evals: [], saves: [] }): Promise<Log> {
  await trainer.run({
    ...hooks,
    onStep: (e) => { log.steps.set(e.iter, e.loss); hooks.onStep?.(e); },
    onEval: (e) => { log.evals.push(e); hooks.onEval?.(e); },
    saveCheckpoint: (parts, iter) => { log.saves.push(iter); return hooks.saveCheckpoint?.(parts, iter); },
  });
  return log;
}

/** Through the bytes of a file and back, as `yorick train` saves and resumes. */
function reload(parts: CheckpointParts, c: TrainConfig): Trainer {
  const loaded = loadCheckpoint(writeSafetensors(parts.tensors, parts.metadata), 'ckpt.safetensors', { backend });
  return new Trainer(c, data, { resume: loaded, backend, resumeWhere: 'ckpt.safetensors' });
}

const evalsOf = (log: Log) => log.evals.map((e) => [e.iter, e.train, e.val]);

test('finding 10: a run stopped between steps, just before an evaluation, or during one resumes with the unbroken run\'s losses', async () => {
  const c = config();
  const whole = await run(new Trainer(c, data, { backend }));
  assert.deepEqual([...whole.steps.keys()], [...Array(12).keys()]);
  assert.deepEqual(whole.evals.map((e) => e.iter), [0, 4, 8, 12]);

  // stop after step `after`; `midEval`: the signal fires during the evaluation that follows
  for (const { after, midEval } of [{ after: 4, midEval: false }, { after: 6, midEval: false }, { after: 7, midEval: false }, { after: 7, midEval: true }, { after: 3, midEval: true }]) {
    const first = new Trainer(c, data, { backend });
    let armed = false, reads = 0;
    const controller = new AbortController();
    // a signal that turns on at its second read after arming: the first is the loop's own check
    // before the evaluation, the second the evaluation's check after its first batch
    const signal = midEval ? { get aborted() { return armed && ++reads >= 2; } } as AbortSignal : controller.signal;
    const part1 = await run(first, {
      signal,
      onStep: (e) => { if (e.iter === after) { armed = true; controller.abort(); } },
    });
    assert.equal(first.iterNum, after + 1, 'stopped after the step in flight');
    const parts = await first.checkpoint();
    const evalDue = (after + 1) % c.eval_interval === 0;
    assert.equal(parts.metadata.eval_pending, evalDue ? 'true' : undefined, 'a stop before a due evaluation says it is pending');
    assert.equal(part1.evals.filter((e) => e.iter === after + 1).length, 0, 'no evaluation at the stop');

    const part2 = await run(reload(parts, c));
    const losses = new Map([...part1.steps, ...part2.steps]);
    assert.deepEqual([...losses.keys()].sort((a, b) => a - b), [...whole.steps.keys()], `after ${after}${midEval ? ' (mid-evaluation)' : ''}: every iteration once`);
    for (const [it, loss] of whole.steps) assert.equal(losses.get(it), loss, `after ${after}${midEval ? ' (mid-evaluation)' : ''}: loss at iteration ${it}`);
    assert.deepEqual([...evalsOf(part1), ...evalsOf(part2)], evalsOf(whole), 'the same evaluations, once each');
  }
});

test('with the device dropout stream too, a stopped and resumed run has the unbroken run\'s losses (and other losses than the torch stream\'s)', async () => {
  const c = config({ dropout_rng: 'device' });
  const whole = await run(new Trainer(c, data, { backend }));
  const first = new Trainer(c, data, { backend });
  const controller = new AbortController();
  const part1 = await run(first, { signal: controller.signal, onStep: (e) => { if (e.iter === 5) controller.abort(); } });
  const part2 = await run(reload(await first.checkpoint(), c));
  const losses = new Map([...part1.steps, ...part2.steps]);
  for (const [it, loss] of whole.steps) assert.equal(losses.get(it), loss, `loss at iteration ${it}`);
  const torch = await run(new Trainer(config({ dropout_rng: 'torch', max_iters: '1' }), data, { backend }));
  assert.notEqual(torch.steps.get(0), whole.steps.get(0), 'the device stream drops other elements than the torch stream');
});

test('on a device backend (no synchronous reads) the losses are read a log_interval block at a time: the same steps, losses and evaluations', async () => {
  // the reference kernels behind a backend that only reads asynchronously, counting its reads
  let reads = 0;
  const device = Object.create(backend) as ReferenceBackend;
  Object.assign(device, {
    readSync: undefined,
    read: (buf: Float32Array, n: number) => { reads++; return backend.read(buf, n); },
  });
  const c = config({ dropout_rng: 'torch', log_interval: '5', eval_interval: '8', max_iters: '12' });
  const cpu = await run(new Trainer(c, data, { backend }));
  const onDevice: Log = { steps: new Map(), evals: [], saves: [] };
  const seen: number[][] = [];
  await run(new Trainer(c, data, { backend: device }), {
    onStep: (e) => { seen.push([e.iter, reads]); },
  }, onDevice);
  assert.deepEqual([...onDevice.steps], [...cpu.steps], 'every step once, in order, with the CPU run\'s losses');
  for (const [i, e] of onDevice.evals.entries()) {
    assert.equal(e.iter, cpu.evals[i].iter);
    assert.ok(Math.abs(e.train - cpu.evals[i].train) < 1e-5 && Math.abs(e.val - cpu.evals[i].val) < 1e-5, 'evaluations summed on the device (float32)');
  }
  // reported in blocks, each after one round of reads: 5 steps (log_interval), then the 3 before
  // the evaluation at 8, then the last 4 before the final evaluation
  const byRead = new Map<number, number[]>();
  for (const [it, r] of seen) byRead.set(r, [...(byRead.get(r) ?? []), it]);
  assert.deepEqual([...byRead.values()], [[0, 1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11]]);
});

test('finding 10: a stopped run that is continued in place (a paused page) equals the unbroken run too', async () => {
  const c = config();
  const whole = await run(new Trainer(c, data, { backend }));
  const t = new Trainer(c, data, { backend });
  let armed = false, reads = 0;
  const log = await run(t, { signal: { get aborted() { return armed && ++reads >= 2; } } as AbortSignal, onStep: (e) => { if (e.iter === 7) armed = true; } });
  armed = false;
  await run(t, {}, log);
  assert.deepEqual([...log.steps], [...whole.steps]);
  assert.deepEqual(evalsOf(log), evalsOf(whole));
});

test('finding 11: the last iteration is evaluated off the schedule without spending the stream, and saved when the run has no checkpoint of itself', async () => {
  const c = config({ max_iters: '10' });
  const first = new Trainer(c, data, { backend });
  first.bestValLoss = 0; // no evaluation can improve on it: only the "no checkpoint of itself" rule saves
  let last: CheckpointParts | null = null;
  const log = await run(first, { saveCheckpoint: (parts) => { last = parts; } });
  assert.deepEqual(log.evals.map((e) => e.iter), [0, 4, 8, 10], 'evaluated at max_iters, off eval_interval');
  assert.deepEqual(log.saves, [10], 'saved once, at the end');
  assert.equal(log.evals.at(-1)!.saved, true);
  assert.equal(last!.metadata.iter_num, '10');

  // continuing it equals a run to 14 that never stopped at 10 (whose stream had no evaluation there)
  const c14 = config({ max_iters: '14' });
  const whole = await run(new Trainer(c14, data, { backend }));
  const more = await run(reload(last!, c14));
  for (let it = 10; it < 14; it++) assert.equal(more.steps.get(it), whole.steps.get(it), `loss at iteration ${it}`);
  assert.deepEqual(evalsOf(more), evalsOf(whole).filter(([it]) => it > 10));

  // with a checkpoint of its own already, the last evaluation saves only when it improves
  const second = new Trainer(c, data, { backend });
  const log2 = await run(second, { saveCheckpoint: () => {} });
  const improvedAt = log2.evals.filter((e, i) => e.iter > 0 && e.val < Math.min(...log2.evals.slice(0, i).map((x) => x.val))).map((e) => e.iter);
  assert.deepEqual(log2.saves, improvedAt);
});

test('finding 2: a diverging run stops with a UserError naming the iteration, the last good loss and the lr; nothing non-finite is saved', async () => {
  // evaluated every iteration (the evaluation sees it first), or rarely (a step's loss does)
  for (const [interval, seen] of [['1', 'evaluation'], ['1000', 'loss']]) {
    const c = config({ learning_rate: '1e6', always_save_checkpoint: 'true', eval_interval: interval, max_iters: '50', warmup_iters: '0', grad_clip: '0', decay_lr: 'false' });
    const t = new Trainer(c, data, { backend });
    const saved: number[] = [];
    await assert.rejects(run(t, {
      saveCheckpoint: (parts, iter) => {
        for (const [name, tensor] of parts.tensors) assert.ok((tensor.data as Float32Array).every(Number.isFinite), `saved ${name} at ${iter} is finite`);
        saved.push(iter);
      },
    }), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, new RegExp(`^training diverged at iteration (\\d+): the ${seen} .*\\(lr 1\\.00e\\+6\\); ` +
        '(the last good loss was \\d+\\.\\d{4} at iteration \\d+|no step of this run had a finite loss)\\. Nothing is saved from it: the last checkpoint stays as it was'));
      const iter = Number(/iteration (\d+)/.exec(e.message)![1]);
      assert.equal(iter, t.iterNum, 'it names the iteration where it stopped');
      return true;
    });
    assert.ok(t.iterNum < 50, 'it stopped early');
    assert.ok(saved.every((it) => it < t.iterNum));
  }

  // a model whose weights went bad between evaluations is not written
  const ok = new Trainer(config(), data, { backend });
  await ok.step(1e-3);
  const [name, p] = [...ok.model.namedParameters()][0];
  const values = p.dataSync().slice();
  values[3] = NaN;
  p.backend.write(p.buf, values);
  await assert.rejects(ok.checkpoint(), new RegExp(`not saving the checkpoint at iteration 0: tensor "${name.replace(/\./g, '\\.')}" holds NaN at index 3 \\(training diverged\\); the previous checkpoint is kept`));
});
