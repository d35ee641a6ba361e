import type { Backend } from '../backend/backend.js';
import type { Rng } from '../tensor/rng.js';
import { ensureGrad, record, Tensor } from '../tensor/tensor.js';

/** A backend buffer of n values of 0 (probability p) or 1 / (1 - p), drawn on the host from rng. */
export function dropoutMask(be: Backend, n: number, p: number, rng: Rng): unknown {
  const host = new Float32Array(n);
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) host[i] = rng.random() < p ? 0 : keep;
  const mask = be.alloc(n, false);
  be.write(mask, host);
  return mask;
}

/** Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, training: boolean, rng: Rng): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const be = x.backend;
  const mask = dropoutMask(be, x.size, p, rng);
  const out = Tensor.empty(x.shape, be);
  be.mul(out.buf, x.buf, mask, x.size);
  out.saved.push(mask);
  return record(out, [x], () => be.mulBackward(ensureGrad(x).buf, out.grad!.buf, mask, x.size));
}
