// A checkpoint is a file from anywhere (issue 10, findings 1, 7 and 8): every metadata field and
// every tensor is checked before the model is built, and each problem is a FormatError naming
// the file and the field or tensor. A huge model in the metadata is refused before it allocates.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { splitTrainVal } from '../src/data/batches.js';
import { UserError } from '../src/errors.js';
import { FormatError } from '../src/io/format-error.js';
import { readSafetensors, type TensorSource, writeSafetensors } from '../src/io/safetensors.js';
import { loadCheckpointFile } from '../src/node/checkpoint.js';
import { Mt19937 } from '../src/tensor/mt19937.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { repoRoot } from './helpers.js';

const backend = new ReferenceBackend();
const dir = mkdtempSync(join(tmpdir(), 'yorick-ckpt-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rng = new XoshiroRng(5);
const ids = Array.from({ length: 600 }, () => rng.int(12));
const data = { ...splitTrainVal(ids, 12), vocabSize: 12, tokenizer: { kind: 'char', chars: [...'abcdefghijkl'] } };
const config = resolveConfig({}, { n_layer: '2', n_head: '2', n_embd: '8', block_size: '8', batch_size: '3', eval_iters: '1', eval_interval: '2', warmup_iters: '0', lr_decay_iters: '10', max_iters: '2' });

async function makeCheckpoint(): Promise<Uint8Array> {
  const t = new Trainer(config, data, { backend });
  let bytes: Uint8Array | null = null;
  await t.run({ saveCheckpoint: (parts) => { bytes = writeSafetensors(parts.tensors, parts.metadata); } });
  return bytes!;
}
const good = await makeCheckpoint();

type Tensors = Map<string, TensorSource>;
/** The checkpoint rewritten after `edit` changed its tensors or metadata. */
function rewrite(edit: (tensors: Tensors, md: Record<string, string>) => void): Uint8Array {
  const f = readSafetensors(good, 'good');
  const tensors: Tensors = new Map([...f.tensors].map(([n, t]) => [n, { dtype: t.dtype, shape: [...t.shape], data: (t.data as Float32Array).slice() }]));
  const md = { ...f.metadata };
  edit(tensors, md);
  return writeSafetensors(tensors, md);
}
const withMeta = (key: string, value: string | null) => rewrite((_, md) => { if (value === null) delete md[key]; else md[key] = value; });
const withJson = (key: string, edit: (v: Record<string, unknown>) => void) => rewrite((_, md) => {
  const v = JSON.parse(md[key]);
  edit(v);
  md[key] = JSON.stringify(v);
});

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => loadCheckpoint(bytes, 'ckpt.safetensors', { backend }), (e: unknown) => {
    assert.ok(e instanceof FormatError, `a FormatError, not ${String((e as Error)?.stack ?? e)}`);
    assert.match(e.message, /^ckpt\.safetensors[: ]/, 'names the file first');
    assert.match(e.message, pattern);
    return true;
  });
}

test('the checkpoint the tests mutate loads and names its parts', () => {
  const loaded = loadCheckpoint(good, 'ckpt.safetensors', { backend });
  assert.equal(loaded.state.iter_num, 2);
  assert.equal(loaded.optimizer!.step, 2);
  assert.equal(loaded.state.rng.batch_offsets.length, 3);
});

test('finding 1: iter_num, best_val_loss and optimizer_step are checked as numbers of their kind', () => {
  for (const bad of ['abc', '-3', '41.5', '', '1e3', ' 2', '99999999999999999']) refused(withMeta('iter_num', bad), new RegExp(`iter_num is ${JSON.stringify(JSON.stringify(bad)).slice(1, -1).replace(/[.+]/g, '\\$&')}, expected an integer >= 0`));
  for (const bad of ['NaN', 'Infinity', '-1', 'abc', '']) refused(withMeta('best_val_loss', bad), /best_val_loss is .*, expected a finite number >= 0 \(a loss; 1000000000 before any evaluation\)/);
  assert.equal(loadCheckpoint(withMeta('best_val_loss', '1000000000'), 'x', { backend }).state.best_val_loss, 1e9, 'the initial 1e9 is a value');
  refused(withMeta('optimizer_step', '-1'), /optimizer_step is "-1", expected an integer >= 0/);
  refused(withMeta('optimizer_step', '3'), /optimizer_step \(3\) is past iter_num \(2\)/);
  refused(withMeta('iter_num', null), /iter_num is missing from the metadata/);
  refused(withMeta('format', 'yorick-checkpoint-0'), /is not a yorick checkpoint \(format "yorick-checkpoint-0", expected yorick-checkpoint-1\)/);
  refused(withMeta('eval_pending', 'yes'), /eval_pending is "yes", expected "true" or "false"/);
  for (const key of ['model', 'tokenizer', 'config', 'rng']) refused(withMeta(key, '{oops'), new RegExp(`${key} is not valid JSON`));
});

test('finding 1: a model too big for yorick is refused from its metadata, naming the field and the limit, before anything is allocated', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n_layer: 1000000 }, /model\.args\.n_layer \(1,000,000\) is over yorick's limit of 4,096/],
    [{ block_size: 2 ** 31 }, /model\.args\.block_size \(2,147,483,648\) is over yorick's limit of 1,048,576/],
    [{ n_embd: 2 ** 20, n_head: 1 }, /model\.args\.n_embd \(1,048,576\) is over yorick's limit of 65,536/],
    [{ vocab_size: 2 ** 40 }, /model\.args\.vocab_size \(1,099,511,627,776\) is over yorick's limit of 4,294,967,296/],
    [{ vocab_size: 2 ** 30, n_embd: 64, n_head: 1 }, /model\.args vocab_size 1,073,741,824 x n_embd 64 is over the limit of 2\^32 values in one tensor \(transformer\.wte\.weight\)/],
    [{ n_layer: 4096, n_embd: 65536, n_head: 1 }, /model\.args \(n_layer 4096, n_embd 65536, .*\) make a model of about .* parameters, \d+ GiB to train, over the limit of 1024 GiB/],
    [{ n_layer: 2.5 }, /model\.args\.n_layer is 2\.5, expected a positive integer/],
    [{ n_head: '2' }, /model\.args\.n_head is "2", expected a positive integer/],
    [{ n_embd: 9 }, /model\.args\.n_embd \(9\) must be divisible by n_head \(2\)/],
    [{ bias: 'no' }, /model\.args\.bias is "no", expected true or false/],
    [{ dropout: 1 }, /model\.args\.dropout is 1, expected a number in \[0, 1\)/],
    [{ activation: 'relu' }, /model\.args\.activation is "relu"/],
    [{ flash: true }, /model\.args\.flash is not a setting of a gpt model/],
  ];
  const rss0 = process.memoryUsage().rss;
  for (const [args, pattern] of cases) {
    const bytes = withJson('model', (m) => Object.assign(m.args as object, args));
    const t0 = performance.now();
    refused(bytes, pattern);
    assert.ok(performance.now() - t0 < 200, `refused at once (${args})`);
  }
  assert.ok(process.memoryUsage().rss - rss0 < 64 << 20, 'no allocation of the claimed size');
  refused(withJson('model', (m) => { m.kind = 'rnn'; }), /model\.kind is "rnn", expected "gpt" or "bigram"/);
  refused(withJson('model', (m) => { m.args = [1, 2]; }), /model\.args must be an object/);
  refused(withMeta('model', 'null'), /model must be an object \{kind, args\}, got null/);
  // a bigram table is vocab_size squared
  refused(withMeta('model', JSON.stringify({ kind: 'bigram', args: { vocab_size: 70000, block_size: 8 } })), /model\.args\.vocab_size \(70,000\) makes a 70,000 x 70,000 table, over the limit/);
});

test('finding 1: tokenizer, config and random state must have their shapes', () => {
  refused(withMeta('tokenizer', 'null'), /tokenizer must be an object with a "kind"/);
  refused(withMeta('tokenizer', '{"chars":[]}'), /tokenizer must be an object with a "kind"/);
  refused(withMeta('config', '[]'), /config must be an object of training settings/);
  refused(withMeta('rng', '"x"'), /rng must be an object \{torch, batch_offsets\}/);
  refused(withJson('rng', (r) => { (r.torch as { mt: { state: number[] } }).mt.state.fill(0); }), /rng\.torch is not a valid generator state: mt19937 state is all zero/);
  refused(withJson('rng', (r) => { (r.torch as { mt: { left: number } }).mt.left = 0; }), /rng\.torch is not a valid generator state: mt19937 state position is inconsistent: left 0/);
  refused(withJson('rng', (r) => { (r.torch as { mt: { state: number[] } }).mt.state[5] = 2 ** 32; }), /mt19937 state word 5 is 4294967296/);
  refused(withJson('rng', (r) => { (r.torch as { seed: string }).seed = 'abc'; }), /rng\.torch is not a valid generator state: generator state seed must be an unsigned 64-bit integer in decimal, got "abc"/);
  refused(withJson('rng', (r) => { (r.torch as { kind: string }).kind = 'xoshiro'; }), /rng\.torch is not a valid generator state: not a PyTorch-compatible generator state/);
  refused(withJson('rng', (r) => { delete r.torch; }), /rng\.torch must be a PyTorch generator state object/);
  refused(withJson('rng', (r) => { r.batch_offsets = [1, -2, 3]; }), /rng\.batch_offsets\[1\] is -2, expected an integer >= 0/);
  refused(withJson('rng', (r) => { r.batch_offsets = [1, 2.5, 3]; }), /rng\.batch_offsets\[1\] is 2\.5/);
  refused(withJson('rng', (r) => { r.batch_offsets = 'abc'; }), /rng\.batch_offsets must be a non-empty array of token offsets, got "abc"/);
  refused(withJson('rng', (r) => { r.batch_offsets = [1, 2]; }), /rng\.batch_offsets holds 2 offsets, but config\.batch_size is 3/);
});

test('finding 8: an all-zero twister state is refused where generators load states; a seeded one never is', () => {
  const zero = { state: new Array(624).fill(0), left: 624, next: 0 };
  assert.throws(() => new Mt19937().setState(zero), /mt19937 state is all zero/);
  // only word 0's top bit counts among its bits: its low bits alone are still the zero state
  assert.throws(() => new Mt19937().setState({ ...zero, state: [0x7fffffff, ...zero.state.slice(1)] }), /all zero/);
  const topBit = new Mt19937();
  topBit.setState({ ...zero, state: [0x80000000, ...zero.state.slice(1)] });
  const words = Array.from({ length: 2000 }, () => topBit.nextUint32());
  assert.ok(words.some((w) => w !== 0), 'a state with one live bit is a real (if poor) state');
  for (const seed of [0, 1, 2 ** 32 - 1]) new Mt19937().setState(new TorchGenerator(seed).getState().mt);
});

test('finding 1: tensors are checked by name, dtype and shape against the model; moments all or none, by shape', () => {
  refused(rewrite((t) => t.delete('transformer.h.1.mlp.c_fc.weight')), /missing 1 parameter tensor\(s\) of the model: "transformer\.h\.1\.mlp\.c_fc\.weight"/);
  refused(rewrite((t) => t.set('extra', { shape: [1], data: new Float32Array(1) })), /unexpected tensor "extra": not a parameter of the gpt model its metadata describes/);
  refused(rewrite((t) => t.set('optimizer.exp_avg.lm_head.weight', { shape: [1], data: new Float32Array(1) })), /unexpected tensor "optimizer\.exp_avg\.lm_head\.weight": not the optimizer state of a parameter/);
  // the same number of values in another shape: a length check would take it
  refused(rewrite((t) => { t.get('transformer.h.0.attn.c_proj.weight')!.shape = [4, 16]; }), /tensor "transformer\.h\.0\.attn\.c_proj\.weight" has shape \[4, 16\], the model \(metadata "model"\) has \[8, 8\]/);
  refused(rewrite((t) => { t.get('optimizer.exp_avg_sq.transformer.wpe.weight')!.shape = [16, 4]; }), /tensor "optimizer\.exp_avg_sq\.transformer\.wpe\.weight" has shape \[16, 4\], the model \(metadata "model"\) has \[8, 8\]/);
  refused(rewrite((t) => t.delete('optimizer.exp_avg_sq.transformer.ln_f.weight')), /the optimizer state is incomplete: 1 of AdamW's 30 moment tensors are missing \("optimizer\.exp_avg_sq\.transformer\.ln_f\.weight"\)/);
  refused(rewrite((t) => { for (const n of t.keys()) if (n.startsWith('optimizer.')) t.delete(n); }), /optimizer_step is 2 but the file holds no optimizer state/);
  refused(rewrite((t) => {
    const w = t.get('transformer.wte.weight')!;
    t.set('transformer.wte.weight', { dtype: 'F16', shape: w.shape, data: new Uint8Array(w.data.length * 2) });
  }), /tensor "transformer\.wte\.weight" is F16, expected F32/);
  refused(rewrite((t) => { (t.get('transformer.h.0.ln_1.weight')!.data as Float32Array)[2] = NaN; }), /tensor "transformer\.h\.0\.ln_1\.weight" holds NaN at index 2: the run that wrote it diverged/);
  refused(rewrite((t) => { (t.get('optimizer.exp_avg.transformer.wte.weight')!.data as Float32Array)[0] = -Infinity; }), /holds -Infinity at index 0/);
  refused(rewrite((t) => { (t.get('optimizer.exp_avg_sq.transformer.wte.weight')!.data as Float32Array)[7] = -1e-3; }), /"optimizer\.exp_avg_sq\.transformer\.wte\.weight" holds -0\.0010.* at index 7: a second moment is never negative/);
});

test('finding 8: resume refuses a checkpoint without AdamW moments, or a prefetched batch outside the data; such a checkpoint still samples', () => {
  const noMoments = rewrite((t, md) => {
    for (const n of t.keys()) if (n.startsWith('optimizer.')) t.delete(n);
    md.optimizer_step = '0';
  });
  const loaded = loadCheckpoint(noMoments, 'ckpt.safetensors', { backend });
  assert.equal(loaded.optimizer, null);
  assert.throws(() => new Trainer(config, data, { resume: loaded, backend, resumeWhere: 'ckpt.safetensors' }),
    (e: unknown) => e instanceof UserError && /ckpt\.safetensors holds no optimizer state \(no optimizer\.exp_avg\.\* tensors\): resuming would restart AdamW's moments from zero/.test(e.message));
  const far = withJson('rng', (r) => { r.batch_offsets = [0, 532, 1]; });
  assert.throws(() => new Trainer(config, data, { resume: loadCheckpoint(far, 'ckpt.safetensors', { backend }), backend, resumeWhere: 'ckpt.safetensors' }),
    /ckpt\.safetensors: rng\.batch_offsets\[1\] is 532, past the last window of the train split \(540 tokens, block_size 8: offsets up to 531\)/);
  assert.throws(() => new Trainer(config, { ...data, vocabSize: 13 }, { resume: loadCheckpoint(good, 'x', { backend }), backend, resumeWhere: 'ckpt.safetensors' }),
    /ckpt\.safetensors: the model's vocab_size \(12\) is smaller than the dataset's \(13\)/);
  const last = withJson('rng', (r) => { r.batch_offsets = [0, 531, 1]; });
  assert.equal(new Trainer(config, data, { resume: loadCheckpoint(last, 'x', { backend }), backend }).iterNum, 2, 'the last window is a window');
});

test('finding 7: a checkpoint file with bad metadata is refused by loadCheckpointFile before its tensors are read, and by the CLI without a stack trace', () => {
  const out = join(dir, 'out');
  mkdirSync(out);
  const path = join(out, 'ckpt.safetensors');
  // the header claims a million layers; the data section is what the real file holds
  writeFileSync(path, withJson('model', (m) => { (m.args as { n_layer: number }).n_layer = 1000000; }));
  assert.throws(() => loadCheckpointFile(path, { backend }), (e: unknown) => e instanceof UserError && e.message.startsWith(`${path}: model.args.n_layer (1,000,000) is over yorick's limit of 4,096`));
  const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  for (const [bytes, pattern] of [
    [withMeta('iter_num', '-5'), /ckpt\.safetensors: iter_num is "-5", expected an integer >= 0/],
    [withJson('rng', (r) => { (r.torch as { mt: { state: number[] } }).mt.state.fill(0); }), /rng\.torch is not a valid generator state: mt19937 state is all zero/],
    [withMeta('best_val_loss', 'NaN'), /best_val_loss is "NaN"/],
  ] as [Uint8Array, RegExp][]) {
    writeFileSync(path, bytes);
    const r = spawnSync(process.execPath, [main, 'sample', `--out_dir=${out}`, '--device=reference', '--max_new_tokens=2', '--num_samples=1'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // "__metadata__": null is refused by the safetensors reader, naming the file
  const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
  header.__metadata__ = null;
  const text = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + text.length + good.length - 8 - n);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
  bytes.set(text, 8);
  bytes.set(good.subarray(8 + n), 8 + text.length);
  refused(bytes, /__metadata__ must be an object of strings, got null.*the checkpoint is corrupt or incomplete/);
  writeFileSync(path, bytes);
  assert.throws(() => loadCheckpointFile(path, { backend }), (e: unknown) => e instanceof UserError && e.message.includes(path) && /__metadata__/.test(e.message));
});
