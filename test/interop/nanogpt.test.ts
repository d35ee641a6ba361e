import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../src/io/format-error.js';
import { readNanoGptCheckpoint, writeNanoGptCheckpoint, type NanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { readNanoGptMeta, writeNanoGptMeta } from '../../src/io/nanogpt-meta.js';
import { PyTuple, TorchTensor, type PyKey, type PyValue } from '../../src/io/py-values.js';
import { readTorchFile, writeTorchFile } from '../../src/io/torch-file.js';
import { readZip, writeZip } from '../../src/io/zip.js';
import { findPython, pyDir, pythonSkip, readFixture, readJson } from './helpers.js';

/** What PyTorch 1.13 read from the fixture (test/interop/py/nanogpt_values.py). */
const tv = readJson('nanogpt-tiny/torch-values.json');
const fixture = () => readFixture('nanogpt-tiny/ckpt.pt');
interface Summary { shape: number[]; sum: number; sumsq: number; head: number[] }

function checkSummary(data: Float32Array, shape: number[], s: Summary, what: string) {
  assert.deepEqual(shape, s.shape, `${what} shape`);
  let sum = 0, sumsq = 0;
  for (const x of data) {
    sum += x;
    sumsq += x * x;
  }
  assert.ok(Math.abs(sum - s.sum) <= 1e-9 * Math.max(1, Math.abs(s.sum)), `${what} sum ${sum} vs PyTorch's ${s.sum}`);
  assert.ok(Math.abs(sumsq - s.sumsq) <= 1e-9 * Math.max(1, s.sumsq), `${what} sum of squares ${sumsq} vs ${s.sumsq}`);
  assert.deepEqual([...data.subarray(0, 4)], s.head, `${what} first values`);
}

const formatError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof FormatError, `a FormatError, got ${String(e)}`);
  assert.match(e.message, pattern);
  return true;
};

/** The fixture's pickled tree, changed by fn, written back as a torch.save file. */
function modified(fn: (top: Map<PyKey, PyValue>) => void): Uint8Array {
  const top = readTorchFile(fixture()) as Map<PyKey, PyValue>;
  fn(top);
  return writeTorchFile(top);
}

test("reads nanoGPT's ckpt.pt to the values PyTorch reads", () => {
  const ck = readNanoGptCheckpoint(fixture());
  assert.deepEqual(ck.modelArgs, tv.model_args);
  const names = Object.keys(tv.model).filter((n) => !n.endsWith('.attn.bias') && n !== 'lm_head.weight');
  assert.deepEqual([...ck.stateDict.keys()], names, 'nanoGPT names in named_parameters order, without the mask buffers and the tied lm_head');
  for (const [name, t] of ck.stateDict) checkSummary(t.data, t.shape, tv.model[name], name);

  // PyTorch's parameter ids: named_parameters order, 2-D and larger (decay) first
  const shapes = names.map((n) => tv.model[n].shape as number[]);
  const ordered = [...names.filter((_, i) => shapes[i].length >= 2), ...names.filter((_, i) => shapes[i].length < 2)];
  assert.deepEqual([...tv.param_groups[0].params, ...tv.param_groups[1].params], ordered.map((_, i) => i));
  const opt = ck.optimizer!;
  assert.equal(opt.step, tv.state['0'].step);
  ordered.forEach((name, id) => {
    checkSummary(opt.m.get(name)!, tv.model[name].shape, tv.state[id].exp_avg, `exp_avg of ${name}`);
    checkSummary(opt.v.get(name)!, tv.model[name].shape, tv.state[id].exp_avg_sq, `exp_avg_sq of ${name}`);
  });
  const g = tv.param_groups[0];
  assert.deepEqual({ lr: opt.lr, betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay }, { lr: g.lr, betas: g.betas, eps: g.eps, weightDecay: g.weight_decay });
  assert.equal(ck.iterNum, tv.iter_num);
  assert.equal(ck.bestValLoss, tv.best_val_loss);
  assert.deepEqual(ck.config, tv.config);
});

test('meta.pkl: the vocabulary, and ours reads in Python as nanoGPT\'s does', () => {
  const meta = readNanoGptMeta(readFixture('nanogpt-tiny/meta.pkl'));
  assert.equal(meta.vocabSize, tv.meta.vocab_size);
  assert.equal(meta.chars.join(''), tv.meta.itos);
  const ours = writeNanoGptMeta(meta.chars);
  assert.deepEqual(readNanoGptMeta(ours), meta);
  assert.throws(() => writeNanoGptMeta(['a', 'a']), /repeated/);
  assert.throws(() => readNanoGptMeta(Uint8Array.from([0x80, 2, 0x5d, 0x2e])), formatError(/meta\.pkl: holds a list/));
});

test("Python's pickle reads our meta.pkl as the same dict as nanoGPT's", { skip: pythonSkip() }, () => {
  const asJson = (b: Uint8Array) => {
    const r = spawnSync(findPython()!, [join(pyDir, 'pickle_to_json.py')], { input: b, encoding: 'utf8', cwd: pyDir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const fixtureMeta = readFixture('nanogpt-tiny/meta.pkl');
  assert.equal(asJson(writeNanoGptMeta(readNanoGptMeta(fixtureMeta).chars)), asJson(fixtureMeta));
});

test('written and read back, a checkpoint is unchanged', () => {
  const ck = readNanoGptCheckpoint(fixture());
  for (const attnBiasBuffers of [false, true]) {
    const back = readNanoGptCheckpoint(writeNanoGptCheckpoint(ck, { attnBiasBuffers }));
    assert.deepEqual(back, ck);
  }
  const fresh: NanoGptCheckpoint = { ...ck, optimizer: undefined };
  assert.equal(readNanoGptCheckpoint(writeNanoGptCheckpoint(fresh)).optimizer, undefined);
});

test("with the mask buffers, our file holds what nanoGPT's own file holds, key for key", () => {
  const plain = (v: PyValue): unknown => {
    if (v instanceof TorchTensor) return { shape: v.shape, values: [...v.data] };
    if (v instanceof PyTuple) return { tuple: v.items.map(plain) };
    if (Array.isArray(v)) return v.map(plain);
    if (v instanceof Map) return { [v.constructor.name]: [...v].map(([k, x]) => [k, plain(x)]) };
    return v;
  };
  const theirs = readTorchFile(fixture()) as Map<PyKey, PyValue>;
  const ours = readTorchFile(writeNanoGptCheckpoint(readNanoGptCheckpoint(fixture()), { attnBiasBuffers: true, archiveName: 'ckpt' })) as Map<PyKey, PyValue>;
  theirs.set('best_val_loss', (theirs.get('best_val_loss') as TorchTensor).data[0]); // a 0-d tensor there, a float here
  assert.deepEqual(plain(ours), plain(theirs));
  assert.deepEqual([...(ours.get('model') as Map<PyKey, PyValue>).keys()], Object.keys(tv.model));
});

test('_orig_mod. prefixes (torch.compile) are stripped; a checkpoint that never stepped has zero moments', () => {
  const ck = readNanoGptCheckpoint(fixture());
  const prefixed = readNanoGptCheckpoint(modified((top) => {
    const model = top.get('model') as Map<PyKey, PyValue>;
    const renamed = new Map([...model].map(([k, v]) => [`_orig_mod.${String(k)}`, v] as [PyKey, PyValue]));
    top.set('model', renamed);
  }));
  assert.deepEqual(prefixed.stateDict, ck.stateDict);
  const unstepped = readNanoGptCheckpoint(modified((top) => ((top.get('optimizer') as Map<PyKey, PyValue>).get('state') as Map<PyKey, PyValue>).clear()));
  assert.equal(unstepped.optimizer!.step, 0);
  assert.ok([...unstepped.optimizer!.m.values()].every((m) => m.every((x) => x === 0)));
});

test('bad checkpoints are FormatErrors that name what disagrees', () => {
  const bad = (bytes: Uint8Array, pattern: RegExp) => assert.throws(() => readNanoGptCheckpoint(bytes, 'ckpt.pt'), formatError(pattern));
  const modelArgs = (top: Map<PyKey, PyValue>) => top.get('model_args') as Map<PyKey, PyValue>;
  bad(modified((top) => modelArgs(top).set('n_embd', 48)),
    /ckpt\.pt: tensor "transformer\.wte\.weight" has shape \[65, 32\], the model args \(n_layer 2, n_head 2, n_embd 48, block_size 16, vocab_size 65, bias true\) imply \[65, 48\]/);
  bad(modified((top) => modelArgs(top).set('n_layer', 3)), /missing 12 tensor\(s\) the model args imply: transformer\.h\.2\.ln_1\.weight/);
  bad(modified((top) => modelArgs(top).set('n_layer', 2n ** 70n)), /model_args\.n_layer is 1180591620717411303424, expected a positive integer/);
  bad(modified((top) => modelArgs(top).set('n_layer', 2 ** 40)), /imply 13194139533316 tensors, there are only 28/);
  bad(modified((top) => modelArgs(top).set('bias', false)), /unexpected tensor "transformer\.h\.0\.ln_1\.bias"/);
  bad(modified((top) => modelArgs(top).set('n_head', 5)), /n_embd \(32\) must be divisible by n_head \(5\)/);
  bad(modified((top) => modelArgs(top).delete('vocab_size')), /model_args\.vocab_size is missing, expected a positive integer/);
  bad(modified((top) => (top.get('model') as Map<PyKey, PyValue>).delete('transformer.ln_f.bias')), /missing 1 tensor\(s\) .*transformer\.ln_f\.bias/);
  bad(modified((top) => {
    const m = top.get('model') as Map<PyKey, PyValue>;
    const t = m.get('lm_head.weight') as TorchTensor;
    m.set('lm_head.weight', new TorchTensor('float32', t.shape, t.data.map((x) => x + 1)));
  }), /lm_head\.weight differs from the token embedding/);
  bad(modified((top) => {
    const groups = (top.get('optimizer') as Map<PyKey, PyValue>).get('param_groups') as PyValue[];
    groups.push(groups[1]);
  }), /3 param groups; nanoGPT's configure_optimizers makes 2/);
  bad(modified((top) => top.set('iter_num', 'x')), /iter_num is "x", expected a non-negative integer/);
  bad(writeTorchFile([1, 2]), /holds a list, expected nanoGPT's checkpoint dict/);

  const entries = readZip(fixture());
  const pkl = new TextDecoder('latin1').decode(entries.get('ckpt/data.pkl'));
  const evil = Uint8Array.from(pkl.replace('torch._utils\n_rebuild_tensor_v2\n', 'posix\nsystem\n'), (c) => c.charCodeAt(0));
  entries.set('ckpt/data.pkl', evil);
  bad(writeZip([...entries].map(([name, data]) => ({ name, data }))), /global posix\.system is not allowed/);
});
