// The page's views into a model: the next-token distribution (what sampling draws from) and the
// attention weights of each layer and head, checked against sampling itself and a float64 oracle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateTokens } from '../src/models/generate.js';
import { GPT } from '../src/models/gpt.js';
import { BigramLanguageModel } from '../src/models/bigram.js';
import { attentionMaps, nextTokenDistribution } from '../src/models/inspect.js';
import { samplingDistribution } from '../src/models/sampling.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { IntTensor, liveTensorCount } from '../src/tensor/tensor.js';
import { assertClose, backendsUnderTest } from './helpers.js';

test('samplingDistribution: softmax of logits / temperature, top-k and top-p renormalized, greedy one-hot', () => {
  const softmax = (xs: number[]) => {
    const e = xs.map((x) => Math.exp(x - Math.max(...xs)));
    const s = e.reduce((a, b) => a + b);
    return e.map((x) => x / s);
  };
  const logits = [2, 1, 0, 1.5];
  // float32, as nanoGPT computes it
  assertClose(samplingDistribution(logits, { temperature: 0.5 }), softmax(logits.map((x) => x / 0.5)), 1e-6, 'temperature 0.5');
  // top_k 2 keeps 2 and 1.5
  const k2 = softmax([2, 1.5]);
  assertClose(samplingDistribution(logits, { topK: 2 }), [k2[0], 0, 0, k2[1]], 1e-6, 'top_k 2');
  // probabilities ~[0.48, 0.18, 0.07, 0.29]: top_p 0.7 keeps 0.48 + 0.29 (>= 0.7 reached after the second)
  const p = softmax(logits);
  const kept = p[0] + p[3];
  assertClose(samplingDistribution(logits, { topP: 0.7 }), [p[0] / kept, 0, 0, p[3] / kept], 1e-6, 'top_p 0.7');
  assert.deepEqual([...samplingDistribution([0.3, 5, 5, -1], { temperature: 0 })], [0, 1, 0, 0]);
});

for (const backend of await backendsUnderTest()) {
  test(`nextTokenDistribution is what generateTokens draws from (${backend.name})`, async () => {
    const model = new GPT({ vocab_size: 19, block_size: 8, n_layer: 2, n_head: 2, n_embd: 16, bias: true }, { seed: 7, backend });
    const context = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]; // longer than block_size: both crop to the last 8
    for (const opts of [{ temperature: 1 }, { temperature: 0.8, topK: 5 }, { temperature: 1.2, topP: 0.9 }]) {
      const probs = await nextTokenDistribution(model, context, opts);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b) - 1) < 1e-5, 'sums to 1');
      for (const seed of [1, 2, 3, 4, 5]) {
        const gen = generateTokens(model, IntTensor.from([context]), 1, opts, new TorchGenerator(seed));
        const drawn = (await gen.next()).value as Int32Array;
        await gen.return(undefined); // runs the generator's cleanup (cache, training mode)
        assert.equal(new TorchGenerator(seed).multinomial1(probs)[0], drawn[0], `seed ${seed}, ${JSON.stringify(opts)}`);
      }
    }
    assert.equal(model.training, true, 'the model is back in training mode');
  });
}

test('nextTokenDistribution works for the bigram model (one row of its table)', async () => {
  const model = new BigramLanguageModel(6, 4, { seed: 2 });
  const probs = await nextTokenDistribution(model, [0, 3]);
  const table = (await [...model.namedParameters().values()][0].data()).subarray(3 * 6, 4 * 6); // row of token 3
  const e = Array.from(table, (x) => Math.exp(x)), s = e.reduce((a, b) => a + b);
  assertClose(probs, e.map((x) => x / s), 1e-6, 'bigram row 3');
});

/** Layer 0's attention from the parameters, in float64: LayerNorm, c_attn, softmax(q k / sqrt(hs)) causal. */
async function layer0Oracle(model: GPT, ids: number[]): Promise<number[]> {
  const { n_embd: C, n_head: H } = model.config;
  const P = new Map<string, Float32Array>();
  for (const [n, t] of model.namedParameters()) P.set(n, await t.data());
  const wte = P.get('transformer.wte.weight')!, wpe = P.get('transformer.wpe.weight')!;
  const lnW = P.get('transformer.h.0.ln_1.weight')!, lnB = P.get('transformer.h.0.ln_1.bias')!;
  const W = P.get('transformer.h.0.attn.c_attn.weight')!, bW = P.get('transformer.h.0.attn.c_attn.bias')!; // [3C, C], [3C]
  const T = ids.length, hs = C / H;
  const qkv = ids.map((id, t) => {
    const x = Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c]);
    const mean = x.reduce((a, b) => a + b) / C;
    const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
    const ln = x.map((xc, c) => ((xc - mean) / Math.sqrt(v + 1e-5)) * lnW[c] + lnB[c]);
    return Array.from({ length: 3 * C }, (_, o) => ln.reduce((a, l, c) => a + l * W[o * C + c], bW[o]));
  });
  const out = new Array(H * T * T).fill(0);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      const scores = Array.from({ length: t + 1 }, (_, s) => {
        let dot = 0;
        for (let d = 0; d < hs; d++) dot += qkv[t][h * hs + d] * qkv[s][C + h * hs + d];
        return dot / Math.sqrt(hs);
      });
      const m = Math.max(...scores), e = scores.map((x) => Math.exp(x - m)), sum = e.reduce((a, b) => a + b);
      e.forEach((x, s) => { out[(h * T + t) * T + s] = x / sum; });
    }
  }
  return out;
}

for (const backend of await backendsUnderTest()) {
  test(`attentionMaps: layer 0 equals a float64 oracle; every row causal and summing to 1 (${backend.name})`, async () => {
    const model = new GPT({ vocab_size: 13, block_size: 6, n_layer: 3, n_head: 2, n_embd: 8, bias: true, dropout: 0.2 }, { seed: 5, backend });
    const live = liveTensorCount();
    const r = await attentionMaps(model, [9, 4, 1, 7, 7, 2, 0, 12]);
    assert.equal(liveTensorCount(), live, 'no tensor is left behind');
    assert.deepEqual(r.ids, [1, 7, 7, 2, 0, 12], 'cropped to the last block_size tokens');
    assert.equal(r.nLayer, 3);
    assert.equal(r.nHead, 2);
    assert.equal(r.maps.length, 3);
    const T = 6;
    assertClose(r.maps[0], await layer0Oracle(model, r.ids), 1e-5, 'layer 0');
    for (const [l, map] of r.maps.entries()) {
      assert.equal(map.length, 2 * T * T);
      for (let row = 0; row < 2 * T; row++) {
        const t = row % T;
        let sum = 0;
        for (let s = 0; s < T; s++) {
          const w = map[row * T + s];
          if (s > t) assert.equal(w, 0, `layer ${l} row ${row}: position ${s} is in the future`);
          sum += w;
        }
        assert.ok(Math.abs(sum - 1) < 1e-5, `layer ${l} row ${row} sums to ${sum}`);
      }
    }
    // eval mode: dropout off, so the same maps twice
    const again = await attentionMaps(model, [9, 4, 1, 7, 7, 2, 0, 12]);
    assert.deepEqual(again.maps, r.maps);
  });
}
