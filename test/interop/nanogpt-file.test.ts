// nanoGPT's ckpt.pt on disk: one buffer up to 4 GiB, record by record beyond (Node 20's Uint8Array
// holds at most 4 GiB; nanoGPT's checkpoint of gpt2-medium with AdamW's moments is 4.3 GB).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StateDict } from '../../src/io/gpt-layout.js';
import { nanoGptParameterShapes } from '../../src/models/nanogpt-init.js';
import { readNanoGptFile, writeNanoGptFile } from '../../src/node/nanogpt-file.js';
import { interopFixtures } from './helpers.js';

test('a ckpt.pt read record by record (as one over 4 GiB is) equals the same file read whole', () => {
  const path = join(interopFixtures, 'nanogpt-tiny', 'ckpt.pt');
  const whole = readNanoGptFile(path);
  const parts = readNanoGptFile(path, { maxWholeBytes: 0 });
  assert.deepEqual(parts.modelArgs, whole.modelArgs);
  assert.deepEqual([...parts.stateDict.keys()], [...whole.stateDict.keys()]);
  for (const [name, t] of parts.stateDict) assert.deepEqual(t, whole.stateDict.get(name), name);
  assert.deepEqual(parts.optimizer, whole.optimizer);
  assert.deepEqual([parts.iterNum, parts.bestValLoss, parts.config], [whole.iterNum, whole.bestValLoss, whole.config]);
});

// Opt-in (disk, memory and a minute): YORICK_BIG_CHECKPOINT_GIB=4.5 writes and reads a ckpt.pt that size.
const bigGiB = Number(process.env.YORICK_BIG_CHECKPOINT_GIB ?? 0);
test('a nanoGPT ckpt.pt over 4 GiB is read', { skip: bigGiB > 4 ? false : 'set YORICK_BIG_CHECKPOINT_GIB=N (N > 4) to write and read an N GiB ckpt.pt' }, () => {
  // one layer, no biases: about 12 n_embd^2 floats
  const n_embd = Math.ceil(Math.sqrt((bigGiB * 2 ** 28) / 12));
  const modelArgs = { n_layer: 1, n_head: 1, n_embd, block_size: 8, bias: false, vocab_size: 65, dropout: 0 };
  const stateDict: StateDict = new Map();
  let k = 0;
  for (const [name, shape] of nanoGptParameterShapes(modelArgs)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i += 4099) data[i] = (k * 7919 + i) % 16777216;
    stateDict.set(name, { shape, data });
    k++;
  }
  const dir = mkdtempSync(join(tmpdir(), 'yorick-big-ckpt-'));
  const path = join(dir, 'ckpt.pt');
  try {
    let t0 = performance.now();
    writeNanoGptFile(path, { modelArgs, stateDict, iterNum: 7, bestValLoss: 1.5, config: {} });
    const writeS = (performance.now() - t0) / 1000;
    stateDict.clear();
    const size = statSync(path).size;
    assert.ok(size > 2 ** 32, `the file is ${size} bytes, over 4 GiB`);
    t0 = performance.now();
    const back = readNanoGptFile(path);
    const readS = (performance.now() - t0) / 1000;
    k = 0;
    for (const [name, t] of back.stateDict) {
      for (let i = 0; i < t.data.length; i += 4099) assert.equal(t.data[i], (k * 7919 + i) % 16777216, `${name}[${i}]`);
      k++;
    }
    assert.equal(back.iterNum, 7);
    console.log(`big ckpt.pt: ${(size / 2 ** 30).toFixed(2)} GiB, written in ${writeS.toFixed(1)} s, read in ${readS.toFixed(1)} s, rss ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
