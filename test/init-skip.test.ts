// Skipping a model's initialization (for weights loaded next) leaves the stream exactly where
// drawing it would: word for word in the twister, against PyTorch's stream after nanoGPT's
// GPT.__init__ (nanogpt-cpu-recipe.json), and for the small tensors that take the scalar path.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GPT } from '../src/models/gpt.js';
import { samplingGenerator } from '../src/models/factory.js';
import { initNanoGptWeights, skipNanoGptInit } from '../src/models/nanogpt-init.js';
import { Mt19937 } from '../src/tensor/mt19937.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { repoRoot } from './helpers.js';

test('Mt19937.discard(n) moves on as n draws do, across twists and from any position', () => {
  for (const before of [0, 1, 300, 622, 623, 624, 625, 1500]) {
    for (const n of [0, 1, 2, 622, 623, 624, 625, 1247, 1248, 1249, 5000]) {
      const drawn = new Mt19937(1337), skipped = new Mt19937(1337);
      for (let i = 0; i < before; i++) { drawn.nextUint32(); skipped.nextUint32(); }
      for (let i = 0; i < n; i++) drawn.nextUint32();
      skipped.discard(n);
      assert.deepEqual(skipped.getState(), drawn.getState(), `after ${before} draws, discard ${n}`);
      assert.equal(skipped.nextUint32(), drawn.nextUint32());
    }
  }
  assert.throws(() => new Mt19937().discard(-1), /non-negative integer/);
});

test('skipNormal and skipUniform leave the stream as normal and uniform do (both normal paths, ragged sizes)', () => {
  for (const n of [0, 1, 3, 15, 16, 17, 31, 32, 33, 1000, 1001]) {
    const a = new TorchGenerator(42), b = new TorchGenerator(42);
    a.normal(n);
    b.skipNormal(n);
    a.uniform(n, -1, 1);
    b.skipUniform(n);
    a.normal(3); // a cached Box-Muller value carries over
    b.normal(3);
    assert.deepEqual(b.getState(), a.getState(), `n = ${n}`);
  }
});

test("skipNanoGptInit stands where nanoGPT's GPT.__init__ leaves PyTorch's stream", () => {
  const recipe = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'torch-random', 'nanogpt-cpu-recipe.json'), 'utf8'));
  for (const [label, ref] of Object.entries<{ config: never; seed: number; next_randint_after_init: number[] }>(recipe.init)) {
    const gen = new TorchGenerator(ref.seed);
    skipNanoGptInit(ref.config, gen);
    assert.deepEqual(gen.randint(0, 1000000, 4), ref.next_randint_after_init, label);
  }
  // tiny tensors (under 16 values) take PyTorch's scalar normal path, which caches a value
  for (const c of [{ n_layer: 1, n_embd: 2, block_size: 3, vocab_size: 5, bias: true }, { n_layer: 3, n_embd: 8, block_size: 7, vocab_size: 11, bias: false }]) {
    const drawn = new TorchGenerator(7), skipped = new TorchGenerator(7);
    initNanoGptWeights(c, drawn);
    skipNanoGptInit(c, skipped);
    assert.deepEqual(skipped.getState(), drawn.getState(), JSON.stringify(c));
  }
});

test('a GPT built without initial weights has zero parameters and the stream of one built with them', async () => {
  const config = { n_layer: 2, n_head: 2, n_embd: 16, block_size: 8, vocab_size: 13, dropout: 0, bias: true };
  const full = new GPT(config, { seed: 5 });
  const bare = new GPT(config, { seed: 5, initWeights: false });
  assert.deepEqual(bare.generator.getState(), full.generator.getState());
  assert.deepEqual(samplingGenerator(full.spec(), 5).getState(), full.generator.getState());
  for (const [name, p] of bare.namedParameters()) {
    const v = await p.data();
    const layerNormWeight = /ln_\w+\.weight$/.test(name);
    assert.ok(v.every((x) => x === (layerNormWeight ? 1 : 0)), `${name}: ${layerNormWeight ? 'ones' : 'zeros'}`);
  }
});
