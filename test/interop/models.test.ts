// The interop fixtures through yorick's GPT: nanoGPT's checkpoint and Hugging Face's GPT-2 give
// the logits, loss and greedy tokens that nanoGPT and transformers computed from them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readHfGpt2 } from '../../src/io/hf-gpt2.js';
import { gptFromStateDict, gptStateDict } from '../../src/io/load-gpt.js';
import { readNanoGptCheckpoint, writeNanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { generate } from '../../src/models/generate.js';
import { IntTensor, noGrad } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers.js';
import { readFixture, readJson } from './helpers.js';

const ids = (v: number[]) => new IntTensor(Int32Array.from(v), [1, v.length]);

test("nanoGPT's checkpoint: logits and loss to 1e-5, and its 40 greedy tokens", async () => {
  const expected = readJson('nanogpt-tiny/expected.json');
  const ck = readNanoGptCheckpoint(readFixture('nanogpt-tiny/ckpt.pt'));
  const model = gptFromStateDict(ck.modelArgs, ck.stateDict).eval();
  const { logits, loss } = noGrad(() => model.forward(ids(expected.input_ids), ids(expected.target_ids)));
  assert.deepEqual([...logits.shape], expected.logits_shape);
  assertClose(logits.dataSync(), expected.logits, 1e-5, 'logits');
  assert.ok(Math.abs(loss!.item() - expected.loss) <= 1e-5, `loss ${loss!.item()} vs nanoGPT's ${expected.loss}`);
  const out = await generate(model, ids([expected.greedy_from_newline_40[0]]), 40, { temperature: 0 });
  assert.deepEqual([...out.data], expected.greedy_from_newline_40);

  // and the same model written out by yorick and read back
  const again = readNanoGptCheckpoint(writeNanoGptCheckpoint({ ...ck, ...(await gptStateDict(model)) }));
  const out2 = await generate(gptFromStateDict(again.modelArgs, again.stateDict).eval(), ids([0]), 40, { temperature: 0 });
  assert.deepEqual([...out2.data], expected.greedy_from_newline_40);
});

test("Hugging Face's GPT-2: logits to 1e-5 with gelu_new, and its 10 greedy tokens", async () => {
  const expected = readJson('hf-gpt2-tiny/expected.json');
  const hf = readHfGpt2(readFixture('hf-gpt2-tiny/model.safetensors'), readJson('hf-gpt2-tiny/config.json'));
  const model = gptFromStateDict(hf.modelArgs, hf.stateDict).eval();
  const T = expected.input_ids.length, V = hf.modelArgs.vocab_size;
  // with targets the model gives every position's logits; the targets themselves do not matter here
  const { logits } = noGrad(() => model.forward(ids(expected.input_ids), ids(new Array(T).fill(0))));
  assert.deepEqual([...logits.shape], [1, ...expected.logits_shape]);
  const values = logits.dataSync();
  assertClose(values.subarray(0, 64), expected.logits_first_row_head, 1e-5, 'first row, first 64 logits');
  assertClose(values.subarray((T - 1) * V), expected.logits_last_row, 1e-5, 'last row');
  let sum = 0, abs = 0;
  for (const x of values) {
    sum += x;
    abs += Math.abs(x);
  }
  assert.ok(Math.abs(sum - expected.logits_sum) <= 1e-6 * abs, `sum of logits ${sum} vs ${expected.logits_sum}`);
  const out = await generate(model, ids(expected.input_ids), 10, { temperature: 0 });
  assert.deepEqual([...out.data.subarray(T)], expected.greedy_10);

  const exact = gptFromStateDict({ ...hf.modelArgs, activation: 'gelu' }, hf.stateDict).eval();
  const { logits: wrong } = noGrad(() => exact.forward(ids(expected.input_ids), ids(new Array(T).fill(0))));
  assert.throws(() => assertClose(wrong.dataSync().subarray((T - 1) * V), expected.logits_last_row, 1e-5, 'exact GELU'), /exceeds/, 'the activation matters: exact GELU does not match');
});
