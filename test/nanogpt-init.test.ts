// nanoGPT's initial weights from TorchGenerator against nanogpt-cpu-recipe.json (nanoGPT's
// model.py on PyTorch 1.13's CPU, seed 1337): per-parameter sums, first and last values, and
// the stream right after construction (the fixture drew torch.randint(1000000, (4,)) there:
// its values are the next four words modulo 10^6).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initNanoGptWeights, nanoGptInitOrder, nanoGptParameterShapes } from '../src/models/nanogpt-init.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { repoRoot } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const recipe: Json = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'torch-random', 'nanogpt-cpu-recipe.json'), 'utf8'));

describe('nanoGPT initialization on the PyTorch stream', () => {
  for (const [label, ref] of Object.entries<Json>(recipe.init)) {
    test(`${label}: every parameter's sum, |sum|, first and last values equal nanoGPT's; the stream continues as nanoGPT's`, () => {
      const gen = new TorchGenerator(ref.seed);
      const params = initNanoGptWeights(ref.config, gen);
      assert.deepEqual([...params.keys()], Object.keys(ref.params), 'names in named_parameters() order');
      for (const [name, r] of Object.entries<Json>(ref.params)) {
        const p = params.get(name)!;
        assert.equal(p.length, r.shape.reduce((a: number, b: number) => a * b, 1), name);
        let sum = 0, abs = 0;
        for (const v of p) { sum += v; abs += Math.abs(v); }
        // PyTorch summed in another order; the values themselves are compared exactly below
        const tol = 1e-9 * Math.max(r.abs_sum, 1);
        assert.ok(Math.abs(sum - r.sum) <= tol, `${name}: sum ${sum}, nanoGPT ${r.sum}`);
        assert.ok(Math.abs(abs - r.abs_sum) <= tol, `${name}: abs sum ${abs}, nanoGPT ${r.abs_sum}`);
        assert.deepEqual([...p.subarray(0, 4), ...p.subarray(-4)], [...r.first, ...r.last], name);
      }
      assert.deepEqual(gen.randint(0, 1000000, 4), ref.next_randint_after_init);
    });
  }

  test('the order: construction draws, the tied matrix drawn three times, c_proj last', () => {
    const c = { n_layer: 2, n_embd: 8, block_size: 4, vocab_size: 5, bias: true };
    const steps = nanoGptInitOrder(c);
    const wte = steps.flatMap((s, i) => (s.name === 'transformer.wte.weight' ? [`${i}:${s.op}`] : []));
    // Embedding at construction, lm_head's Linear (tied), then _init_weights as wte and as lm_head
    assert.deepEqual(wte.map((s) => s.split(':')[1]), ['embedding', 'linear', 'normal', 'normal']);
    const tail = steps.slice(-4).map((s) => (s.op === 'normal' ? `${s.name}@${s.std}` : s.op));
    const std = 0.02 / Math.sqrt(4);
    assert.deepEqual(tail, ['transformer.h.0.attn.c_proj.weight', 'transformer.h.0.mlp.c_proj.weight',
      'transformer.h.1.attn.c_proj.weight', 'transformer.h.1.mlp.c_proj.weight'].map((n) => `${n}@${std}`));
    // every parameter is written by some step
    const written = new Set(steps.map((s) => s.name).concat(steps.flatMap((s) => (s.op === 'linear' && s.bias ? [s.bias] : []))));
    for (const name of nanoGptParameterShapes(c).keys()) assert.ok(written.has(name), name);
    const p = initNanoGptWeights(c, new TorchGenerator(0));
    assert.ok(p.get('transformer.h.1.attn.c_attn.bias')!.every((v) => v === 0), 'biases end at zero');
    assert.ok(p.get('transformer.ln_f.weight')!.every((v) => v === 1));
  });
});
