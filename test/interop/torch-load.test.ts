// PyTorch itself reads the ckpt.pt that yorick writes: restricted loading, a strict state dict
// load into a model with nanoGPT's names, AdamW's load_state_dict and a step, the same logits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNanoGptCheckpoint, writeNanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { OrderedDict, TorchTensor } from '../../src/io/py-values.js';
import { writeTorchFile } from '../../src/io/torch-file.js';
import { findPython, interopFixtures, readFixture, readJson, runPython, torchSkip } from './helpers.js';

test('torch.load reads our ckpt.pt; a nanoGPT-named model and AdamW load it and give nanoGPT\'s logits', { skip: torchSkip() }, (t) => {
  const py = findPython('torch')!;
  const version = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
  const major = Number(version.split('.')[0]);
  const dir = mkdtempSync(join(tmpdir(), 'yorick-torch-'));
  try {
    const ck = readNanoGptCheckpoint(readFixture('nanogpt-tiny/ckpt.pt'));
    const ckptPath = join(dir, 'ckpt.pt'), modelOnly = join(dir, 'model.pt');
    // nanoGPT on PyTorch 1.x registers the attn.bias buffers and loads strictly: write them there
    writeFileSync(ckptPath, writeNanoGptCheckpoint(ck, { attnBiasBuffers: major < 2 }));
    writeFileSync(modelOnly, writeTorchFile(new OrderedDict([...ck.stateDict].map(([k, v]) => [k, new TorchTensor('float32', v.shape, v.data)]))));
    const r = JSON.parse(runPython(py, 'torch_check.py', [ckptPath, modelOnly, join(interopFixtures, 'nanogpt-tiny', 'expected.json')]));
    t.diagnostic(`PyTorch ${r.torch_version}, loaded with ${r.how}`);
    const expected = readJson('nanogpt-tiny/expected.json');
    assert.deepEqual(r.keys, ['model', 'optimizer', 'model_args', 'iter_num', 'best_val_loss', 'config']);
    const fixtureKeys: string[] = Object.keys(readJson('nanogpt-tiny/torch-values.json').model);
    assert.deepEqual(r.model_keys, major < 2 ? fixtureKeys : fixtureKeys.filter((k) => !k.endsWith('.attn.bias')));
    assert.equal(r.model_only_equal, true, 'the state dict alone loads with weights_only=True');
    assert.equal(r.tied_storage, true, 'lm_head.weight and wte share one storage');
    assert.deepEqual(r.model_args, expected.model_args);
    assert.equal(r.iter_num, expected.iter_num);
    assert.ok(Math.abs(r.best_val_loss - expected.best_val_loss) < 1e-6);
    assert.deepEqual(r.group_sizes, [10, 18]);
    assert.ok(r.logits_max_diff < 1e-5, `logits differ by ${r.logits_max_diff}`);
    assert.ok(Math.abs(r.loss - expected.loss) < 1e-5, `loss ${r.loss} vs ${expected.loss}`);
    assert.deepEqual(r.greedy, expected.greedy_from_newline_40);
    assert.equal(r.step_before, ck.optimizer!.step);
    assert.equal(r.step_after, ck.optimizer!.step + 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
