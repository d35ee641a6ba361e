import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, generateTokens } from '../src/models/generate.js';
import { GPT } from '../src/models/gpt.js';
import { BigramLanguageModel } from '../src/models/bigram.js';
import { sampleFromLogits } from '../src/models/sampling.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { backendsSkipped, backendsUnderTest } from './helpers.js';

for (const backend of await backendsUnderTest()) {
  test(`KV-cached and uncached sampling give the same tokens (${backend.name}), past block_size too`, async () => {
    const model = new GPT({ vocab_size: 23, block_size: 12, n_layer: 2, n_head: 2, n_embd: 16, bias: true }, { seed: 4, backend });
    const idx = IntTensor.from([[1, 5, 7], [2, 2, 9]]);
    for (const opts of [{ temperature: 1 }, { temperature: 0.7, topK: 5 }, { temperature: 1.3, topP: 0.8 }]) {
      const cached = await generate(model, idx, 30, { ...opts, useCache: true }, new TorchGenerator(11));
      const plain = await generate(model, idx, 30, { ...opts, useCache: false }, new TorchGenerator(11));
      assert.deepEqual(cached.data, plain.data, JSON.stringify(opts));
      assert.deepEqual([...cached.shape], [2, 33]);
    }
  });
}

for (const { name, why } of await backendsSkipped()) {
  test(`KV-cached and uncached sampling give the same tokens (${name})`, { skip: why }, () => {});
}

test('generate works for the bigram model (no cache) and keeps the prompt', async () => {
  const model = new BigramLanguageModel(10, 8, { seed: 3 });
  const out = await generate(model, IntTensor.from([[4, 2]]), 15, {}, new TorchGenerator(1));
  assert.deepEqual([...out.data.slice(0, 2)], [4, 2]);
  assert.ok(out.data.every((t) => t >= 0 && t < 10));
});

test('generateTokens stops when its signal aborts', async () => {
  const model = new BigramLanguageModel(10, 8, { seed: 3 });
  const controller = new AbortController();
  let n = 0;
  for await (const _ of generateTokens(model, IntTensor.from([[1]]), 50, { signal: controller.signal }, new TorchGenerator(1))) {
    if (++n === 7) controller.abort();
  }
  assert.equal(n, 7);
});

test('greedy, top-k and top-p keep only the tokens they should', () => {
  const logits = [0.1, 2.0, -1, 1.9, 0.5];
  assert.equal(sampleFromLogits(logits, { temperature: 0 }, new TorchGenerator(1)), 1);
  const rng = new TorchGenerator(2);
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(sampleFromLogits(logits, { topK: 2 }, rng));
  assert.deepEqual([...seen].sort(), [1, 3]);
  // probabilities of [0, 1, 2] are ~[0.665, 0.245, 0.09]: top_p 0.8 keeps the first two
  const seenP = new Set<number>();
  for (let i = 0; i < 300; i++) seenP.add(sampleFromLogits([2, 1, 0], { topP: 0.8 }, rng));
  assert.deepEqual([...seenP].sort(), [0, 1]);
});

test('sampling refuses non-finite logits (a diverged model) with a message', () => {
  assert.throws(() => sampleFromLogits([0.1, NaN, 0.3], {}, new TorchGenerator(1)), /logit of NaN for token 1: its weights are broken/);
  assert.throws(() => sampleFromLogits([Infinity, 0], { temperature: 0 }, new TorchGenerator(1)), /logit of Infinity/);
});
