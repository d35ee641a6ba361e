import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BatchSampler, splitTrainVal } from '../src/data/batches.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW, learningRate } from '../src/optim/adamw.js';
import { mulScalar } from '../src/ops/elementwise.js';
import { IntTensor, liveTensorCount } from '../src/tensor/tensor.js';
import { CharTokenizer } from '../src/tokenizers/char.js';
import { builtinConfigs, defaultTrainConfig, resolveConfig } from '../src/train/config.js';
import { Trainer, trainStep } from '../src/train/trainer.js';
import { type CheckpointState, loadCheckpoint, serializeCheckpoint } from '../src/train/checkpoint.js';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { assertClose, shakespearePath, shakespeareSkip } from './helpers.js';

const backend = new ReferenceBackend();

test("learning rate: nanoGPT's warmup, cosine decay and floor", () => {
  const c = { learning_rate: 1e-3, warmup_iters: 100, lr_decay_iters: 2000, min_lr: 1e-4 };
  assert.equal(learningRate(0, c), 1e-3 * 1 / 101);
  assert.equal(learningRate(99, c), 1e-3 * 100 / 101);
  assert.equal(learningRate(100, c), 1e-3);
  assert.ok(Math.abs(learningRate(1050, c) - (1e-4 + 0.5 * (1e-3 - 1e-4))) < 1e-15, 'halfway is the midpoint');
  assert.equal(learningRate(2000, c), 1e-4);
  assert.equal(learningRate(5000, c), 1e-4);
  assert.equal(learningRate(500, { ...c, decay_lr: false }), 1e-3);
});

test('built-in configs resolve to the recipes the issue names', () => {
  const cpu = resolveConfig({ name: 'shakespeare_char_cpu' }, {});
  assert.deepEqual([cpu.n_layer, cpu.n_head, cpu.n_embd, cpu.block_size, cpu.batch_size, cpu.max_iters, cpu.learning_rate, cpu.min_lr, cpu.beta2, cpu.dropout, cpu.eval_iters],
    [4, 4, 128, 64, 12, 2000, 1e-3, 1e-4, 0.99, 0, 20]);
  const gpu = resolveConfig({ name: 'shakespeare_char' }, { max_iters: '10' });
  assert.deepEqual([gpu.n_layer, gpu.n_head, gpu.n_embd, gpu.block_size, gpu.batch_size, gpu.dropout, gpu.max_iters], [6, 6, 384, 256, 64, 0.2, 10]);
  assert.ok(Object.keys(builtinConfigs.shakespeare_char).every((k) => k in defaultTrainConfig));
});

test('batches: y is x shifted by one, from the requested split, same for the same seed', () => {
  const tokens = Uint16Array.from({ length: 500 }, (_, i) => i % 50);
  const { train, val } = splitTrainVal(tokens, 50);
  assert.equal(train.length, 450);
  const a = new BatchSampler({ train, val }, 3, 7, 42).getBatch('train');
  const b = new BatchSampler({ train, val }, 3, 7, 42).getBatch('train');
  assert.deepEqual(a.x.data, b.x.data);
  for (let i = 0; i < 3; i++) for (let t = 0; t < 7; t++) {
    assert.equal(a.y.data[i * 7 + t], (a.x.data[i * 7 + t] + 1) % 50);
  }
});

test('gradient accumulation over two half batches equals one full batch', () => {
  const cfg = { vocab_size: 11, block_size: 6, n_layer: 1, n_head: 2, n_embd: 8, bias: true };
  const m1 = new GPT(cfg, { seed: 5, backend }), m2 = new GPT(cfg, { seed: 5, backend });
  const x = IntTensor.from(Array.from({ length: 24 }, (_, i) => (i * 7) % 11), [4, 6]);
  const y = IntTensor.from(Array.from({ length: 24 }, (_, i) => (i * 3 + 1) % 11), [4, 6]);
  m1.forward(x, y).loss!.backward();
  for (const half of [0, 1]) {
    const xs = new IntTensor(x.data.slice(half * 12, half * 12 + 12), [2, 6]);
    const ys = new IntTensor(y.data.slice(half * 12, half * 12 + 12), [2, 6]);
    mulScalar(m2.forward(xs, ys).loss!, 0.5).backward();
  }
  const p2 = m2.namedParameters();
  for (const [name, p] of m1.namedParameters()) assertClose(p2.get(name)!.grad!.dataSync(), p.grad!.dataSync(), 1e-5, name);
});

test('trainStep with accumulation steps equals the same micro-batches accumulated by hand', async () => {
  const cfg = { vocab_size: 11, block_size: 6, n_layer: 1, n_head: 2, n_embd: 8, bias: true };
  const m1 = new GPT(cfg, { seed: 5, backend }), m2 = new GPT(cfg, { seed: 5, backend });
  const batch = (k: number) => ({
    x: IntTensor.from(Array.from({ length: 12 }, (_, i) => (i * 7 + k) % 11), [2, 6]),
    y: IntTensor.from(Array.from({ length: 12 }, (_, i) => (i * 3 + k) % 11), [2, 6]),
  });
  const o1 = new AdamW(m1.namedParameters()), o2 = new AdamW(m2.namedParameters());
  let k = 0;
  const stream = { current: batch(k++), next: () => batch(k++) };
  const loss = await trainStep(m1, o1, stream, { accumulationSteps: 3, gradClip: 0.5 });
  let last = 0;
  for (let j = 0; j < 3; j++) {
    const { x, y } = batch(j);
    const l = m2.forward(x, y).loss!;
    last = l.item();
    mulScalar(l, 1 / 3).backward();
  }
  o2.step(0.5);
  assert.equal(k, 4, 'three batches trained, the fourth drawn ahead for the next step');
  assert.deepEqual(stream.current.x.data, batch(3).x.data);
  assert.equal(loss, last, 'the loss reported is the last micro-batch\'s');
  const p2 = m2.namedParameters();
  for (const [name, p] of m1.namedParameters()) assertClose(p.dataSync(), p2.get(name)!.dataSync(), 1e-6, name);
});

test('gradient clipping: the gradients are scaled by max_norm / (norm + 1e-6), at most 1', async () => {
  const x = IntTensor.from([[1, 2, 3, 4]]);
  const cfg = { vocab_size: 7, block_size: 4, n_layer: 1, n_head: 1, n_embd: 4 };
  const [clipped, scaled, unclipped, plain] = [0, 1, 2, 3].map(() => new GPT(cfg, { seed: 2, backend }));
  const opts = { lr: 0.1, weightDecay: 0 };
  const norms: number[] = [];
  for (const [m, maxNorm] of [[clipped, 1e-3], [unclipped, 1e9], [plain, 0]] as const) {
    m.forward(x, x).loss!.backward();
    const opt = new AdamW(m.namedParameters(), opts);
    norms.push(await opt.gradNorm());
    opt.step(maxNorm);
  }
  let sq = 0;
  for (const p of clipped.parameters()) for (const g of p.grad!.dataSync()) sq += g * g;
  assert.ok(Math.abs(norms[0] - Math.sqrt(sq)) < 1e-6 * Math.sqrt(sq), `norm ${norms[0]} vs ${Math.sqrt(sq)}`);
  // the same step by hand: gradients scaled first, no clipping in the optimizer
  scaled.forward(x, x).loss!.backward();
  const factor = 1e-3 / (norms[0] + 1e-6);
  for (const p of scaled.parameters()) p.backend.scale(p.grad!.buf, p.grad!.buf, factor, p.size);
  new AdamW(scaled.namedParameters(), opts).step(0);
  const s = scaled.namedParameters(), u = plain.namedParameters();
  for (const [name, p] of clipped.namedParameters()) assertClose(p.dataSync(), s.get(name)!.dataSync(), 1e-5, `clipped ${name}`);
  for (const [name, p] of unclipped.namedParameters()) assert.deepEqual(p.dataSync(), u.get(name)!.dataSync(), `a max norm above the norm changes nothing (${name})`);
});

test('a training step releases everything it allocated (memory stays flat over many steps)', async () => {
  const tokens = Uint16Array.from({ length: 2000 }, (_, i) => (i * 31) % 20);
  const config = resolveConfig({}, { n_layer: '1', n_head: '2', n_embd: '16', block_size: '8', batch_size: '2', dropout: '0.1', gradient_accumulation_steps: '2' });
  const trainer = new Trainer(config, { ...splitTrainVal(tokens, 20), vocabSize: 20, tokenizer: { kind: 'char', chars: [] } }, { backend });
  await trainer.step(1e-3);
  const live = liveTensorCount();
  for (let i = 0; i < 20; i++) await trainer.step(1e-3);
  await trainer.estimateLoss();
  assert.equal(liveTensorCount(), live);
});

test('the bigram model on Tiny Shakespeare reaches a val loss of about 2.5', { skip: shakespeareSkip }, async () => {
  const text = readFileSync(shakespearePath, 'utf8');
  const tok = CharTokenizer.fromText(text);
  const config = resolveConfig({ name: 'bigram_shakespeare_char' }, {});
  const trainer = new Trainer(config, { ...splitTrainVal(tok.encode(text), tok.vocabSize), vocabSize: tok.vocabSize, tokenizer: tok.toSpec() }, { backend });
  const last = await trainer.run();
  assert.ok(last && last.val > 2.4 && last.val < 2.6, `val loss ${last?.val}`);
});

test("GPT initialization follows nanoGPT: N(0, 0.02), c_proj scaled by 1/sqrt(2 n_layer), zero biases, unit LayerNorm weights", () => {
  const n_layer = 3;
  const model = new GPT({ vocab_size: 50, block_size: 32, n_layer, n_head: 4, n_embd: 64, bias: true }, { seed: 9, backend });
  const std = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
  for (const [name, t] of model.namedParameters()) {
    const p = { data: t.dataSync() };
    if (name.endsWith('c_proj.weight')) assert.ok(Math.abs(std(p.data) / (0.02 / Math.sqrt(2 * n_layer)) - 1) < 0.05, `${name} std ${std(p.data)}`);
    else if (/ln_\d|ln_f/.test(name)) assert.ok(p.data.every((v) => v === (name.endsWith('weight') ? 1 : 0)), name);
    else if (name.endsWith('.bias')) assert.ok(p.data.every((v) => v === 0), name);
    else assert.ok(Math.abs(std(p.data) / 0.02 - 1) < 0.05, `${name} std ${std(p.data)}`);
  }
  assert.ok(!model.namedParameters().has('lm_head.weight'), 'lm_head is tied to wte and listed once');
  const names = [...model.namedParameters().keys()];
  assert.deepEqual(names.slice(0, 4), ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias']);
});

test('no op reads memory it asked for uninitialized (NaN-filled "empty" buffers change nothing)', () => {
  class PoisonBackend extends ReferenceBackend {
    override readonly name = 'poison';
    override alloc(n: number, zero = true): Float32Array {
      const a = new Float32Array(n);
      if (!zero) a.fill(NaN);
      return a;
    }
  }
  const run = (be: ReferenceBackend) => {
    const model = new GPT({ vocab_size: 13, block_size: 8, n_layer: 2, n_head: 2, n_embd: 8, dropout: 0.2, bias: true }, { seed: 3, backend: be });
    const x = IntTensor.from(Array.from({ length: 16 }, (_, i) => (i * 5) % 13), [2, 8]);
    const y = IntTensor.from(Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? -1 : (i * 3) % 13)), [2, 8]);
    const loss = model.forward(x, y).loss!;
    loss.backward();
    return [loss.item(), ...model.parameters().flatMap((p) => [...p.grad!.dataSync()])];
  };
  const clean = run(new ReferenceBackend());
  const poisoned = run(new PoisonBackend());
  assert.ok(clean.every(Number.isFinite));
  assert.deepEqual(poisoned, clean);
});

test('seeds: PyTorch\'s range is accepted, anything else is refused naming the value', () => {
  assert.equal(resolveConfig({}, { seed: '-1' }).seed, -1);
  assert.throws(() => resolveConfig({}, { seed: '1.5' }), /seed must be an integer.*1\.5/);
  assert.throws(() => resolveConfig({}, { seed: String(2 ** 70) }), /seed/);
});

test('a checkpoint from the earlier (xoshiro) generator loads for sampling; resuming it says why it cannot continue', async () => {
  const tokens = Uint16Array.from({ length: 400 }, (_, i) => (i * 7) % 20);
  const config = resolveConfig({}, { n_layer: '1', n_head: '1', n_embd: '8', block_size: '8', batch_size: '2' });
  const data = { ...splitTrainVal(tokens, 20), vocabSize: 20, tokenizer: { kind: 'char' as const, chars: [] } };
  const trainer = new Trainer(config, data, { backend });
  const state = { model: trainer.model.spec(), tokenizer: data.tokenizer, config: { ...config }, iter_num: 5, best_val_loss: 3,
    rng: { batch: [1, 2, 3, 4], model: [5, 6, 7, 8] } };
  const bytes = await serializeCheckpoint(trainer.model, trainer.optimizer, state as unknown as CheckpointState);
  const loaded = loadCheckpoint(bytes, 'old.safetensors', { backend });
  assert.equal(loaded.state.iter_num, 5);
  assert.throws(() => new Trainer(config, data, { resume: loaded, backend, resumeWhere: 'old.safetensors' }),
    /old\.safetensors was written by an earlier yorick whose random streams were not PyTorch's.*init_from=scratch/);
});
