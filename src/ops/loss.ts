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
  const losses = be.alloc(N, false), probs = be.alloc(N * V, false);
  const count = be.crossEntropy(losses, probs, logits.data, targets.data, N, V);
  let sum = 0;
  for (let i = 0; i < N; i++) sum += losses[i];
  be.free(losses);
  const out = new Tensor([]);
  out.data[0] = count > 0 ? sum / count : NaN; // PyTorch gives NaN when every target is ignored
  out.saved.push(probs);
  return record(out, [logits], () => {
    if (count === 0) return;
    be.crossEntropyBackward(ensureGrad(logits).data, probs, targets.data, out.grad!.data[0] / count, N, V);
  });
}

/** Softmax over the last dimension of x / temperature. */
export function softmax(x: Tensor, temperature = 1): Tensor {
  const V = x.shape[x.ndim - 1];
  const N = x.size / V;
  const out = Tensor.empty(x.shape);
  x.backend.softmax(out.data, x.data, N, V, temperature);
  return record(out, [x], () => {
    // dx = y * (g - sum(g * y)) / temperature, row by row
    const y = out.data, g = out.grad!.data, dx = ensureGrad(x).data;
    for (let r = 0; r < N; r++) {
      const o = r * V;
      let dot = 0;
      for (let j = 0; j < V; j++) dot += g[o + j] * y[o + j];
      for (let j = 0; j < V; j++) dx[o + j] += (y[o + j] * (g[o + j] - dot)) / temperature;
    }
  });
}
