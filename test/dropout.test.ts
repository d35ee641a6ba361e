import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { GPT } from '../src/models/gpt.js';
import { dropout, DropoutSource } from '../src/ops/dropout.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { IntTensor, Tensor } from '../src/tensor/tensor.js';

const be = new ReferenceBackend();

/** MurmurHash3's fmix32 in BigInt arithmetic: an oracle independent of the kernels' Math.imul form. */
function fmix32(x: bigint): bigint {
  const M = 0xffffffffn;
  x ^= x >> 16n;
  x = (x * 0x85ebca6bn) & M;
  x ^= x >> 13n;
  x = (x * 0xc2b2ae35n) & M;
  return x ^ (x >> 16n);
}

function maskOf(n: number, p: number, key0: number, key1: number): Float32Array {
  const mask = be.alloc(n);
  be.dropoutMask(mask, n, p, key0, key1);
  return mask;
}

test('the device dropout stream follows its definition (BigInt oracle), indices past 2^31 included', () => {
  const [key0, key1, p] = [0x9e3779b9, 0x7f4a7c15, 0.3];
  const mask = maskOf(5000, p, key0, key1);
  const keep = Math.fround(1 / (1 - p));
  for (let i = 0; i < mask.length; i++) {
    const h = fmix32(fmix32(BigInt(i) ^ BigInt(key0)) ^ BigInt(key1));
    assert.equal(mask[i], Number(h >> 8n) < Math.floor(p * 2 ** 24) ? 0 : keep, `element ${i}`);
  }
  // the kernel's index arithmetic is 32-bit: check the formula at a high index through a one-element view
  const hi = 2 ** 31 + 12345;
  const h = fmix32(fmix32(BigInt(hi) ^ BigInt(key0)) ^ BigInt(key1));
  const cpu = be as unknown as { dropoutMask(m: Float32Array, n: number, p: number, k0: number, k1: number): void };
  const big = new Float32Array(1);
  // element hi of a stream keyed (key0, key1) is element 0 of the stream keyed (key0 ^ hi, key1)
  cpu.dropoutMask(big, 1, p, (key0 ^ hi) >>> 0, key1);
  assert.equal(big[0], Number(h >> 8n) < Math.floor(p * 2 ** 24) ? 0 : keep);
});

test('device dropout masks drop a fraction p, independently of the key', () => {
  const n = 1 << 20;
  for (const p of [0.1, 0.2, 0.5]) {
    for (const [k0, k1] of [[0, 0], [1, 0], [0xdeadbeef, 0x12345678]]) {
      const mask = maskOf(n, p, k0, k1);
      const dropped = mask.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);
      const sigma = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(dropped - n * p) < 5 * sigma, `p ${p} keys ${k0},${k1}: ${dropped} dropped of ${n}`);
    }
  }
  // neighbouring keys give unrelated masks: they agree about as often as two independent ones
  const a = maskOf(n, 0.5, 1, 2), b = maskOf(n, 0.5, 2, 2);
  const same = a.reduce((s, v, i) => s + (v === b[i] ? 1 : 0), 0);
  assert.ok(Math.abs(same - n / 2) < 5 * Math.sqrt(n / 4), `${same} of ${n} agree`);
  assert.ok(maskOf(1000, 0, 3, 4).every((v) => v === 1));
});

test('DropoutSource: the torch stream is F.dropout\'s mask; the device stream takes two words per mask', () => {
  const x = Tensor.from(new Float32Array(64).fill(1), [64], { backend: be });
  const torch = dropout(x, 0.25, true, new DropoutSource(new TorchGenerator(7), 'torch')).dataSync();
  assert.deepEqual([...torch], [...new TorchGenerator(7).dropoutMask(64, 0.25)]);
  const g = new TorchGenerator(7);
  const device = dropout(x, 0.25, true, new DropoutSource(g, 'device')).dataSync();
  const words = new TorchGenerator(7);
  assert.deepEqual([...device], [...maskOf(64, 0.25, words.random(), words.random())]);
  assert.equal(g.random(), words.random(), 'the generator moved on by exactly two words');
});

test('a GPT trains with either stream; the choice is the model option dropoutRng (torch on CPU backends by default)', () => {
  const config = { vocab_size: 11, block_size: 8, n_layer: 1, n_head: 2, n_embd: 8, dropout: 0.3 };
  const idx = IntTensor.from([[1, 2, 3, 4, 5, 6, 7, 8]]);
  const losses: number[] = [];
  for (const dropoutRng of [undefined, 'torch', 'device'] as const) {
    const model = new GPT(config, { seed: 3, backend: be, dropoutRng });
    model.train();
    losses.push(model.forward(idx, idx).loss!.item());
  }
  assert.equal(losses[0], losses[1], 'torch is the default on the reference backend');
  assert.notEqual(losses[1], losses[2], 'the device stream drops other elements');
  assert.ok(losses.every(Number.isFinite));
});
