import { ensureGrad, IntTensor, record, Tensor } from '../tensor/tensor.js';

/**
 * Mean cross-entropy of logits [N, V] (or [..., V]) against integer targets, skipping
 * targets equal to ignoreIndex (-1), as F.cross_entropy(..., ignore_index=-1).
 */
export function crossEntropy(logits: Tensor, targets: IntTensor): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const N = logits.size / V;
  if (targets.data.length !== N) throw new Error(`crossEntropy: ${targets.data.length} targets for ${N} rows of logits`);
  for (let i = 0; i < N; i++) {
    const t = targets.data[i];
    if (t !== -1 && !(t >= 0 && t < V)) throw new Error(`crossEntropy: target ${t} at position ${i} is out of range [0, ${V}) (or -1 to ignore)`);
  }
  const be = logits.backend;
  const probs = be.alloc(N * V, false);
  const out = Tensor.empty([], be);
  be.crossEntropy(out.buf, probs, logits.buf, targets.data, N, V);
  out.saved.push(probs);
  return record(out, [logits], () => {
    be.crossEntropyBackward(ensureGrad(logits).buf, probs, targets.data, out.grad!.buf, N, V);
  });
}

/** Softmax over the last dimension of x / temperature. */
export function softmax(x: Tensor, temperature = 1): Tensor {
  const V = x.shape[x.ndim - 1];
  const N = x.size / V;
  const be = x.backend;
  const out = Tensor.empty(x.shape, be);
  be.softmax(out.buf, x.buf, N, V, temperature);
  return record(out, [x], () => be.softmaxBackward(ensureGrad(x).buf, out.buf, out.grad!.buf, N, V, temperature));
}
