import { ensureGrad, record, sameBackend, Tensor } from '../tensor/tensor.js';

function lastDim(t: Tensor): number {
  return t.shape[t.ndim - 1];
}

/** a [M, K] @ b [K, N] -> [M, N] (a may have extra leading dims, folded into M). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (b.ndim !== 2) throw new Error(`matmul: b must be 2-D, got shape [${b.shape.join(', ')}]`);
  const K = lastDim(a), N = b.shape[1];
  if (b.shape[0] !== K) throw new Error(`matmul: inner dimensions differ: [${a.shape.join(', ')}] @ [${b.shape.join(', ')}]`);
  const M = a.size / K;
  const be = sameBackend('matmul', a, b);
  const out = Tensor.empty([...a.shape.slice(0, -1), N], be);
  be.matmul(out.buf, a.buf, b.buf, M, N, K, false, false, false);
  return record(out, [a, b], () => {
    const g = out.grad!.buf;
    // da = g @ b^T ; db = a^T @ g
    if (a.requiresGrad) be.matmul(ensureGrad(a).buf, g, b.buf, M, K, N, false, true, true);
    if (b.requiresGrad) be.matmul(ensureGrad(b).buf, a.buf, g, K, N, M, true, false, true);
  });
}

/**
 * y = x @ weight^T + bias with PyTorch's layout: weight [out, in], bias [out] or null.
 * x [..., in] -> y [..., out].
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const K = lastDim(x), N = weight.shape[0];
  if (weight.ndim !== 2 || weight.shape[1] !== K) {
    throw new Error(`linear: input has ${K} features, weight shape [${weight.shape.join(', ')}] expects [out, ${K}]`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== N)) throw new Error(`linear: bias shape [${bias.shape.join(', ')}] must be [${N}]`);
  const M = x.size / K;
  const be = sameBackend('linear', x, weight, bias);
  const out = Tensor.empty([...x.shape.slice(0, -1), N], be);
  be.matmul(out.buf, x.buf, weight.buf, M, N, K, false, true, false);
  if (bias) be.addBroadcast(out.buf, out.buf, bias.buf, out.size, N);
  return record(out, [x, weight, bias], () => {
    const g = out.grad!.buf;
    // dx = g @ W ; dW = g^T @ x ; db = column sums of g
    if (x.requiresGrad) be.matmul(ensureGrad(x).buf, g, weight.buf, M, K, N, false, false, true);
    if (weight.requiresGrad) be.matmul(ensureGrad(weight).buf, g, x.buf, N, K, M, true, false, true);
    if (bias?.requiresGrad) be.sumRowsInto(ensureGrad(bias).buf, g, M, N);
  });
}
