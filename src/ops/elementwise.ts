import { ensureGrad, record, sameBackend, Tensor } from '../tensor/tensor.js';

/**
 * a + b, where b has a's shape or the shape of a's trailing dimensions (broadcast over the
 * leading ones: the position embedding [T, C] added to every sequence of [B, T, C]).
 */
export function add(a: Tensor, b: Tensor): Tensor {
  const n = b.size;
  const trailing = a.shape.slice(a.ndim - b.ndim);
  if (b.ndim > a.ndim || trailing.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shape [${b.shape.join(', ')}] does not broadcast to [${a.shape.join(', ')}]`);
  }
  const be = sameBackend('add', a, b);
  const out = Tensor.empty(a.shape, be);
  be.addBroadcast(out.buf, a.buf, b.buf, a.size, n);
  return record(out, [a, b], () => {
    const g = out.grad!.buf;
    if (a.requiresGrad) be.axpy(ensureGrad(a).buf, g, 1, a.size);
    if (b.requiresGrad) {
      if (n === a.size) be.axpy(ensureGrad(b).buf, g, 1, n);
      else be.sumRowsInto(ensureGrad(b).buf, g, a.size / n, n);
    }
  });
}

/** x * s for a number s (the loss divided by the gradient accumulation steps). */
export function mulScalar(x: Tensor, s: number): Tensor {
  const be = x.backend;
  const out = Tensor.empty(x.shape, be);
  be.scale(out.buf, x.buf, s, x.size);
  return record(out, [x], () => be.axpy(ensureGrad(x).buf, out.grad!.buf, s, x.size));
}

/** GELU: x * Phi(x) with the exact erf, or PyTorch's approximate='tanh' form. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const be = x.backend;
  const tanh = approximate === 'tanh';
  const out = Tensor.empty(x.shape, be);
  be.gelu(out.buf, x.buf, x.size, tanh);
  return record(out, [x], () => be.geluBackward(ensureGrad(x).buf, out.grad!.buf, x.buf, x.size, tanh));
}
