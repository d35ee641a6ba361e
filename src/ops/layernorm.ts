import { ensureGrad, record, Tensor } from '../tensor/tensor.js';

/** LayerNorm over the last dimension, weight [C] and optional bias [C]. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C || (bias && bias.size !== C)) throw new Error(`layerNorm: weight/bias must have ${C} elements`);
  const N = x.size / C;
  const be = x.backend;
  const out = Tensor.empty(x.shape);
  const mean = be.alloc(N, false), rstd = be.alloc(N, false);
  be.layerNorm(out.data, mean, rstd, x.data, weight.data, bias?.data ?? null, N, C, eps);
  out.saved.push(mean, rstd);
  return record(out, [x, weight, bias], () => {
    be.layerNormBackward(ensureGrad(x).data, ensureGrad(weight).data, bias ? ensureGrad(bias).data : null,
      out.grad!.data, x.data, weight.data, mean, rstd, N, C);
  });
}
