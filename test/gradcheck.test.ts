// Finite-difference checks of every op's backward on the reference backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { causalSelfAttention } from '../src/ops/attention.js';
import { dropout, DROPOUT_RNGS, DropoutSource } from '../src/ops/dropout.js';
import { add, gelu, mulScalar } from '../src/ops/elementwise.js';
import { embedding } from '../src/ops/embedding.js';
import { layerNorm } from '../src/ops/layernorm.js';
import { linear, matmul } from '../src/ops/linear.js';
import { crossEntropy, softmax } from '../src/ops/loss.js';
import { lastPosition } from '../src/ops/slice.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { IntTensor, noGrad, Tensor } from '../src/tensor/tensor.js';

const backend = new ReferenceBackend();

function randn(shape: number[], rng: XoshiroRng, scale = 1): Tensor {
  const values = Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.normal() * scale);
  return Tensor.from(values, shape, { backend, requiresGrad: true });
}

/**
 * Compares d/dx of L = sum(f(inputs) * R) (R random) from backward() with central differences,
 * for every element of every input. f must be deterministic (re-seed any rng inside it).
 */
function gradcheck(name: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor, h = 1e-2, tol = 2e-2): void {
  const rng = new XoshiroRng(99);
  const out0 = noGrad(() => f(...inputs));
  const R = Float64Array.from({ length: out0.size }, () => rng.normal());
  const loss = (o: Tensor) => o.dataSync().reduce((s, v, i) => s + v * R[i], 0);
  const out = f(...inputs);
  out.backward(Tensor.from(Float32Array.from(R), out.shape, { backend }));
  inputs.forEach((x, xi) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad!.dataSync();
    let scale = 0;
    const numeric = new Float64Array(x.size);
    const values = x.dataSync();
    const set = (i: number, v: number) => backend.write(x.buf as Float32Array, Float32Array.of(v), i);
    for (let i = 0; i < x.size; i++) {
      const orig = values[i];
      set(i, orig + h);
      const up = noGrad(() => loss(f(...inputs)));
      set(i, orig - h);
      const down = noGrad(() => loss(f(...inputs)));
      set(i, orig);
      numeric[i] = (up - down) / (2 * h);
      scale = Math.max(scale, Math.abs(numeric[i]));
    }
    for (let i = 0; i < x.size; i++) {
      const d = Math.abs(analytic[i] - numeric[i]);
      assert.ok(d <= tol * Math.max(scale, 1e-3), `${name}: input ${xi} element ${i}: backward ${analytic[i]}, finite difference ${numeric[i]}`);
    }
  });
}

const rng = new XoshiroRng(1);

test('matmul', () => gradcheck('matmul', [randn([3, 4], rng), randn([4, 5], rng)], (a, b) => matmul(a, b)));
test('linear with bias, 3-D input', () => gradcheck('linear', [randn([2, 3, 4], rng), randn([5, 4], rng), randn([5], rng)], (x, w, b) => linear(x, w, b)));
test('add with broadcast over leading dims', () => gradcheck('add', [randn([2, 3, 4], rng), randn([3, 4], rng)], (a, b) => add(a, b)));
test('add, same shape', () => gradcheck('add', [randn([3, 4], rng), randn([3, 4], rng)], (a, b) => add(a, b)));
test('mulScalar', () => gradcheck('mulScalar', [randn([7], rng)], (x) => mulScalar(x, -0.37)));
test('gelu (erf)', () => gradcheck('gelu', [randn([20], rng, 2)], (x) => gelu(x)));
test('gelu (tanh)', () => gradcheck('gelu tanh', [randn([20], rng, 2)], (x) => gelu(x, 'tanh')));
test('embedding (repeated ids accumulate)', () => {
  const ids = IntTensor.from([[0, 2, 2], [1, 0, 2]]);
  gradcheck('embedding', [randn([4, 3], rng)], (t) => embedding(t, ids));
});
test('layerNorm with and without bias', () => {
  gradcheck('layerNorm', [randn([3, 6], rng), randn([6], rng), randn([6], rng)], (x, w, b) => layerNorm(x, w, b), 1e-2, 3e-2);
  gradcheck('layerNorm nobias', [randn([3, 6], rng), randn([6], rng)], (x, w) => layerNorm(x, w, null), 1e-2, 3e-2);
});
test('causal self-attention', () => gradcheck('attention', [randn([2, 5, 12], rng)], (qkv) => causalSelfAttention(qkv, 2)));
test('causal self-attention with dropout on the probabilities (torch and device streams)', () => {
  for (const stream of DROPOUT_RNGS) {
    gradcheck(`attention dropout (${stream})`, [randn([1, 4, 12], rng)], (qkv) => causalSelfAttention(qkv, 2, 0.3, new DropoutSource(new TorchGenerator(5), stream)));
  }
});
test('crossEntropy with ignored targets', () => {
  const targets = IntTensor.from([2, -1, 0, 4, 1, -1], [6]);
  gradcheck('crossEntropy', [randn([6, 5], rng)], (l) => crossEntropy(l, targets));
});
test('softmax with temperature', () => gradcheck('softmax', [randn([3, 5], rng)], (x) => softmax(x, 0.7)));
test('dropout (torch and device streams)', () => {
  for (const stream of DROPOUT_RNGS) gradcheck(`dropout (${stream})`, [randn([30], rng)], (x) => dropout(x, 0.4, true, new DropoutSource(new TorchGenerator(3), stream)));
});
test('lastPosition and view', () => gradcheck('lastPosition', [randn([2, 3, 4], rng)], (x) => lastPosition(x.view([2, 3, 4])).view([-1])));

test('crossEntropy matches -log softmax exactly on a hand example', () => {
  // logits [0, ln 2, ln 3] -> p = [1/6, 2/6, 3/6]
  const logits = Tensor.from([0, Math.log(2), Math.log(3)], [1, 3], { backend });
  assert.ok(Math.abs(crossEntropy(logits, IntTensor.from([2], [1])).item() - Math.log(2)) < 1e-6);
  assert.ok(Number.isNaN(crossEntropy(logits, IntTensor.from([-1], [1])).item()), 'all targets ignored gives NaN, as PyTorch');
});
