import type { AttentionDropout, Backend } from '../backend/backend.js';
import type { TorchGenerator } from '../tensor/torch-generator.js';
import { ensureGrad, record, Tensor } from '../tensor/tensor.js';

/**
 * Where dropout masks come from.
 * - 'torch': PyTorch's CPU stream. F.dropout's bernoulli draws come from the generator on the host
 *   and the mask is written to the backend: a seed gives PyTorch's (and nanoGPT's) numbers.
 * - 'device': the backend's dropoutMask kernel, keyed by one 64-bit draw from the generator per
 *   mask. No host work and no upload, which a GPU needs; the masks are yorick's own (as PyTorch's
 *   CUDA masks differ from its CPU ones), the same on every backend.
 */
export type DropoutRng = 'torch' | 'device';

export const DROPOUT_RNGS: readonly DropoutRng[] = ['torch', 'device'];

/** 'device' on a device backend (WebGPU: no synchronous reads), else 'torch'. */
export function defaultDropoutRng(be: Backend): DropoutRng {
  return be.readSync ? 'torch' : 'device';
}

/** The stream a config's dropout_rng (auto, torch or device) means on a backend. */
export function resolveDropoutRng(asked: string, be: Backend): DropoutRng {
  if (asked === 'auto') return defaultDropoutRng(be);
  if (!(DROPOUT_RNGS as readonly string[]).includes(asked)) throw new Error(`dropout_rng must be auto, torch or device, got "${asked}"`);
  return asked as DropoutRng;
}

/** The generator dropout draws from, and how it turns draws into masks. */
export class DropoutSource {
  constructor(readonly generator: TorchGenerator, public rng: DropoutRng = 'torch') {}

  /**
   * The dropout of n attention probabilities: the torch stream's mask, or the device stream's key
   * (the backend computes its mask where it is used; WebGPU never stores it).
   */
  attention(be: Backend, n: number, p: number): AttentionDropout<unknown> {
    if (this.rng === 'torch') return { mask: this.mask(be, n, p) };
    if (n > 2 ** 32) throw new Error(`dropout: the device stream has 2^32 elements per mask, ${n} asked for`);
    return { p, key0: this.generator.random(), key1: this.generator.random() };
  }

  /** A backend buffer of n values of 0 (probability p) or 1 / (1 - p). */
  mask(be: Backend, n: number, p: number): unknown {
    const mask = be.alloc(n, false);
    if (this.rng === 'device') {
      const key0 = this.generator.random(), key1 = this.generator.random();
      be.dropoutMask(mask, n, p, key0, key1);
    } else {
      be.write(mask, this.generator.dropoutMask(n, p));
    }
    return mask;
  }
}

/** Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, training: boolean, source: DropoutSource): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const be = x.backend;
  const mask = source.mask(be, x.size, p);
  const out = Tensor.empty(x.shape, be);
  be.mul(out.buf, x.buf, mask, x.size);
  out.saved.push(mask);
  return record(out, [x], () => be.mulBackward(ensureGrad(x).buf, out.grad!.buf, mask, x.size));
}
