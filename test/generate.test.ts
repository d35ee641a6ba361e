import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, generateTokens } from '../src/models/generate.js';
import { GPT } from '../src/models/gpt.js';
import { BigramLanguageModel } from '../src/models/bigram.js';
import { multinomial, sampleFromLogits } from '../src/models/sampling.js';
import { Rng } from '../src/tensor/rng.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { backendsSkipped, backendsUnderTest } from './helpers.js';

for (const backend of await backendsUnderTest()) {
  test(`KV-cached and uncached sampling give the same tokens (${backend.name}), past block_size too`, async () => {
    const model = new GPT({ vocab_size: 23, block_size: 12, n_layer: 2, n_head: 2, n_embd: 16, bias: true }, { seed: 4, backend });
    const idx = IntTensor.from([[1, 5, 7], [2, 2, 9]]);
    for (const opts of [{ temperature: 1 }, { temperature: 0.7, topK: 5 }, { temperature: 1.3, topP: 0.8 }]) {
      const cached = await generate(model, idx, 30, { ...opts, useCache: true }, new Rng(11));
      const plain = await generate(model, idx, 30, { ...opts, useCache: false }, new Rng(11));
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
  const out = await generate(model, IntTensor.from([[4, 2]]), 15, {}, new Rng(1));
  assert.deepEqual([...out.data.slice(0, 2)], [4, 2]);
  assert.ok(out.data.every((t) => t >= 0 && t < 10));
});

test('generateTokens stops when its signal aborts', async () => {
  const model = new BigramLanguageModel(10, 8, { seed: 3 });
  const controller = new AbortController();
  let n = 0;
  for await (const _ of generateTokens(model, IntTensor.from([[1]]), 50, { signal: controller.signal }, new Rng(1))) {
    if (++n === 7) controller.abort();
  }
  assert.equal(n, 7);
});

test('greedy, top-k and top-p keep only the tokens they should', () => {
  const logits = [0.1, 2.0, -1, 1.9, 0.5];
  assert.equal(sampleFromLogits(logits, { temperature: 0 }, new Rng(1)), 1);
  const rng = new Rng(2);
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(sampleFromLogits(logits, { topK: 2 }, rng));
  assert.deepEqual([...seen].sort(), [1, 3]);
  // probabilities of [0, 1, 2] are ~[0.665, 0.245, 0.09]: top_p 0.8 keeps the first two
  const seenP = new Set<number>();
  for (let i = 0; i < 300; i++) seenP.add(sampleFromLogits([2, 1, 0], { topP: 0.8 }, rng));
  assert.deepEqual([...seenP].sort(), [0, 1]);
});

test('multinomial draws match the probabilities', () => {
  const rng = new Rng(5);
  const counts = [0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[multinomial([0.2, 0.5, 0.3], rng)]++;
  [0.2, 0.5, 0.3].forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 0.015, `p[${i}] ${counts[i] / n}`));
});
