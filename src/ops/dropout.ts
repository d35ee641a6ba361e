import type { Backend } from '../backend/backend.js';
import type { TorchGenerator } from '../tensor/torch-generator.js';
import { ensureGrad, record, Tensor } from '../tensor/tensor.js';

/**
 * A backend buffer of n values of 0 (probability p) or 1 / (1 - p): the mask F.dropout draws on
 * the CPU from the same generator state, made on the host and written to the backend.
 */
export function dropoutMask(be: Backend, n: number, p: number, generator: TorchGenerator): unknown {
  const mask = be.alloc(n, false);
  be.write(mask, generator.dropoutMask(n, p));
  return mask;
}

/** Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, training: boolean, generator: TorchGenerator): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const be = x.backend;
  const mask = dropoutMask(be, x.size, p, generator);
  const out = Tensor.empty(x.shape, be);
  be.mul(out.buf, x.buf, mask, x.size);
  out.saved.push(mask);
  return record(out, [x], () => be.mulBackward(ensureGrad(x).buf, out.grad!.buf, mask, x.size));
}
