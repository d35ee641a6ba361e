import { Tensor } from '../tensor/tensor.js';

/**
 * Keys and values of the positions a GPT has already seen, per layer, so that sampling feeds one
 * new token per step instead of the whole context. k and v are [B, block_size, C] per layer.
 */
export class KVCache {
  readonly layers: { k: Float32Array; v: Float32Array }[];
  /** Positions filled so far. */
  length = 0;

  constructor(readonly batch: number, readonly maxLength: number, readonly nEmbd: number, nLayer: number) {
    this.layers = Array.from({ length: nLayer }, () => ({
      k: new Float32Array(batch * maxLength * nEmbd),
      v: new Float32Array(batch * maxLength * nEmbd),
    }));
  }

  reset(): void {
    this.length = 0;
  }

  /** Copies the k and v of new positions qkv [B, Tn, 3C] into the layer's cache after `length`. */
  store(layer: number, qkv: Tensor): void {
    const [B, Tn, C3] = qkv.shape;
    const C = C3 / 3, T0 = this.length;
    if (T0 + Tn > this.maxLength) throw new Error(`KV cache holds ${this.maxLength} positions, ${T0 + Tn} needed`);
    const { k, v } = this.layers[layer];
    const q = qkv.data;
    for (let b = 0; b < B; b++) for (let t = 0; t < Tn; t++) {
      const src = (b * Tn + t) * C3, dst = (b * this.maxLength + T0 + t) * C;
      k.set(q.subarray(src + C, src + 2 * C), dst);
      v.set(q.subarray(src + 2 * C, src + 3 * C), dst);
    }
  }
}

/**
 * Attention of the new positions qkv [B, Tn, 3C] (absolute positions length .. length+Tn-1)
 * over every cached position up to each one's own; appends their k and v to the layer's cache.
 * Inference only (no gradient). Follows the reference kernel's arithmetic: float64 sums,
 * probabilities rounded to float32, so cached and uncached sampling pick the same tokens.
 */
export function cachedAttention(qkv: Tensor, cache: KVCache, layer: number, nHead: number): Tensor {
  const [B, Tn, C3] = qkv.shape;
  const C = C3 / 3, hs = C / nHead, T0 = cache.length, maxT = cache.maxLength;
  cache.store(layer, qkv);
  const { k, v } = cache.layers[layer];
  const q = qkv.data;
  const out = Tensor.empty([B, Tn, C]);
  const y = out.data;
  const scale = 1 / Math.sqrt(hs);
  const p = new Float32Array(T0 + Tn);
  const acc = new Float64Array(hs);
  for (let b = 0; b < B; b++) for (let h = 0; h < nHead; h++) for (let t = 0; t < Tn; t++) {
    const qo = (b * Tn + t) * C3 + h * hs, last = T0 + t;
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      const ko = (b * maxT + j) * C + h * hs;
      let s = 0;
      for (let i = 0; i < hs; i++) s += q[qo + i] * k[ko + i];
      p[j] = s * scale;
      if (p[j] > max) max = p[j];
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) {
      p[j] = Math.exp(p[j] - max);
      sum += p[j];
    }
    for (let j = 0; j <= last; j++) p[j] /= sum;
    // y = sum over j of p[j] * v[j], j ascending (the reference kernel's order), rows read whole
    acc.fill(0);
    for (let j = 0; j <= last; j++) {
      const vo = (b * maxT + j) * C + h * hs, pj = p[j];
      for (let i = 0; i < hs; i++) acc[i] += pj * v[vo + i];
    }
    const yo = (b * Tn + t) * C + h * hs;
    for (let i = 0; i < hs; i++) y[yo + i] = acc[i];
  }
  return out;
}
