import type { Backend } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Keys and values of the positions a GPT has already seen, per layer, so that sampling feeds one
 * new token per step instead of the whole context. k and v are backend buffers [B, block_size, C]
 * per layer; dispose() releases them.
 */
export class KVCache {
  readonly layers: { k: unknown; v: unknown }[];
  /** Positions filled so far. */
  length = 0;

  constructor(readonly backend: Backend, readonly batch: number, readonly maxLength: number, readonly nEmbd: number, nLayer: number) {
    this.layers = Array.from({ length: nLayer }, () => ({
      k: backend.alloc(batch * maxLength * nEmbd),
      v: backend.alloc(batch * maxLength * nEmbd),
    }));
  }

  reset(): void {
    this.length = 0;
  }

  dispose(): void {
    for (const { k, v } of this.layers) {
      this.backend.free(k);
      this.backend.free(v);
    }
    this.layers.length = 0;
  }

  private check(qkv: Tensor): [number, number, number] {
    const [B, Tn, C3] = qkv.shape;
    if (qkv.backend !== this.backend) throw new Error(`KV cache is on the ${this.backend.name} backend, the model's activations on ${qkv.backend.name}`);
    if (B !== this.batch || C3 !== 3 * this.nEmbd) throw new Error(`KV cache holds [${this.batch}, ${this.maxLength}, ${this.nEmbd}], got qkv [${qkv.shape.join(', ')}]`);
    if (this.length + Tn > this.maxLength) throw new Error(`KV cache holds ${this.maxLength} positions, ${this.length + Tn} needed`);
    return [B, Tn, C3 / 3];
  }

  /** Copies the k and v of new positions qkv [B, Tn, 3C] into the layer's cache after `length`. */
  store(layer: number, qkv: Tensor): void {
    const [B, Tn, C] = this.check(qkv);
    const { k, v } = this.layers[layer];
    this.backend.kvStore(k, v, qkv.buf, B, Tn, C, this.length, this.maxLength);
  }
}

/**
 * Attention of the new positions qkv [B, Tn, 3C] (absolute positions length .. length+Tn-1)
 * over every cached position up to each one's own; appends their k and v to the layer's cache.
 * Inference only (no gradient).
 */
export function cachedAttention(qkv: Tensor, cache: KVCache, layer: number, nHead: number): Tensor {
  cache.store(layer, qkv);
  const [B, Tn, C3] = qkv.shape;
  const { k, v } = cache.layers[layer];
  const out = Tensor.empty([B, Tn, C3 / 3], qkv.backend);
  qkv.backend.cachedAttention(out.buf, qkv.buf, k, v, B, Tn, C3 / 3, nHead, cache.length, cache.maxLength);
  return out;
}
