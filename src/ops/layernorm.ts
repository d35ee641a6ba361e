import { ensureGrad, record, sameBackend, Tensor } from '../tensor/tensor.js';

/** LayerNorm over the last dimension, weight [C] and optional bias [C]. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C || (bias && bias.size !== C)) throw new Error(`layerNorm: weight/bias must have ${C} elements`);
  const N = x.size / C;
  const be = sameBackend('layerNorm', x, weight, bias);
  const out = Tensor.empty(x.shape, be);
  const mean = be.alloc(N, false), rstd = be.alloc(N, false);
  be.layerNorm(out.buf, mean, rstd, x.buf, weight.buf, bias?.buf ?? null, N, C, eps);
  out.saved.push(mean, rstd);
  return record(out, [x, weight, bias], () => {
    be.layerNormBackward(ensureGrad(x).buf, ensureGrad(weight).buf, bias ? ensureGrad(bias).buf : null,
      out.grad!.buf, x.buf, weight.buf, mean, rstd, N, C);
  });
}
