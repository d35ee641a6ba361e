import { type AttentionDropout, dropoutThreshold, type Backend, type Kernels } from './backend.js';

const FAST_CONTRACT_KERNELS = [
  'matmul', 'addBroadcast', 'sumRowsInto', 'axpy', 'scale', 'embedding', 'embeddingBackward', 'layerNorm',
  'layerNormBackward', 'gelu', 'geluBackward', 'softmax', 'mul', 'mulBackward',
] as const satisfies readonly (keyof Kernels)[];

/** Attention with the dropout mask (if any) as a host array: what the CPU kernels take. */
export interface CpuMaskedAttention {
  attentionMasked(out: Float32Array, att: Float32Array, qkv: Float32Array, mask: Float32Array | null, B: number, T: number, C: number, H: number): void;
  attentionMaskedBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, mask: Float32Array | null,
    B: number, T: number, C: number, H: number): void;
}

/** The kernels each CPU backend implements itself (CpuBackend supplies the rest of the contract). */
export const CPU_FAST_KERNELS = [...FAST_CONTRACT_KERNELS, 'attentionMasked', 'attentionMaskedBackward'] as const;
export interface CpuFastKernels extends Pick<Kernels<Float32Array>, (typeof FAST_CONTRACT_KERNELS)[number]>, CpuMaskedAttention {}

/**
 * What the CPU backends (reference, wasm, native) share: buffers are Float32Arrays the host can
 * read, so storage is a copy, and the kernels that are small or run once per sampled token are
 * plain loops here. Each subclass supplies its fast kernels, plus four in a host-side form
 * (per-row losses, a float64 sum, a scalar gradient scale) that this class adapts to the
 * device-side contract, where scalars live in one-element buffers.
 */
export abstract class CpuBackend implements Backend<Float32Array> {
  abstract readonly name: string;
  abstract alloc(n: number, zero?: boolean): Float32Array;
  abstract free(buf: Float32Array): void;

  write(buf: Float32Array, src: Float32Array, offset = 0): void {
    if (offset < 0 || offset + src.length > buf.length) throw new Error(`write of ${src.length} values at ${offset} into a buffer of ${buf.length}`);
    buf.set(src, offset);
  }

  readSync(buf: Float32Array, n: number): Float32Array {
    return buf.slice(0, n);
  }

  async read(buf: Float32Array, n: number): Promise<Float32Array> {
    return this.readSync(buf, n);
  }

  // ---- the host-side forms each CPU backend implements

  /** Per row: probs = softmax(logits), losses[i] = -log probs[i, targets[i]] (0 where the target is -1). */
  protected abstract crossEntropyRows(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  /** dlogits[i, :] += dloss * (probs[i, :] - onehot(targets[i])), rows with target -1 skipped. */
  protected abstract crossEntropyRowsBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number, N: number, V: number): void;
  /** Sum of x[i]^2, in float64. */
  protected abstract sumSquaresValue(x: Float32Array, n: number): number;
  protected abstract adamwStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, t: number, gradScale: number): void;

  // ---- kernels of the contract built on them

  crossEntropy(loss: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
    const losses = this.alloc(N, false);
    this.crossEntropyRows(losses, probs, logits, targets, N, V);
    let sum = 0;
    for (let i = 0; i < N; i++) sum += losses[i];
    this.free(losses);
    const count = countTargets(targets, N);
    loss[0] = count > 0 ? sum / count : NaN; // PyTorch gives NaN when every target is ignored
  }

  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: Float32Array, N: number, V: number): void {
    const count = countTargets(targets, N);
    if (count > 0) this.crossEntropyRowsBackward(dlogits, probs, targets, dloss[0] / count, N, V);
  }

  sumSquares(out: Float32Array, x: Float32Array, n: number, accumulate: boolean): void {
    const s = this.sumSquaresValue(x, n);
    out[0] = accumulate ? out[0] + s : s;
  }

  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, t: number, gradScale: Float32Array | null): void {
    this.adamwStep(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, t, gradScale ? gradScale[0] : 1);
  }

  // ---- kernels that are plain loops on every CPU backend

  fill(out: Float32Array, value: number, n: number): void {
    out.fill(value, 0, n);
  }

  dropoutMask(mask: Float32Array, n: number, p: number, key0: number, key1: number): void {
    const { threshold, keep } = dropoutThreshold(p);
    for (let i = 0; i < n; i++) mask[i] = fmix32(fmix32(i ^ key0) ^ key1) >>> 8 < threshold ? 0 : keep;
  }

  gradClipScale(out: Float32Array, normSq: Float32Array, maxNorm: number): void {
    out[0] = Math.min(1, maxNorm / (Math.sqrt(normSq[0]) + 1e-6));
  }

  softmaxBackward(dx: Float32Array, y: Float32Array, dy: Float32Array, N: number, V: number, temperature: number): void {
    for (let r = 0; r < N; r++) {
      const o = r * V;
      let dot = 0;
      for (let j = 0; j < V; j++) dot += dy[o + j] * y[o + j];
      for (let j = 0; j < V; j++) dx[o + j] += (y[o + j] * (dy[o + j] - dot)) / temperature;
    }
  }

  selectPosition(out: Float32Array, x: Float32Array, B: number, T: number, C: number, t: number): void {
    for (let b = 0; b < B; b++) out.set(x.subarray((b * T + t) * C, (b * T + t + 1) * C), b * C);
  }

  selectPositionBackward(dx: Float32Array, dout: Float32Array, B: number, T: number, C: number, t: number): void {
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) dx[(b * T + t) * C + c] += dout[b * C + c];
  }

  kvStore(k: Float32Array, v: Float32Array, qkv: Float32Array, B: number, Tn: number, C: number, T0: number, maxT: number): void {
    const C3 = 3 * C;
    for (let b = 0; b < B; b++) for (let t = 0; t < Tn; t++) {
      const src = (b * Tn + t) * C3, dst = (b * maxT + T0 + t) * C;
      k.set(qkv.subarray(src + C, src + 2 * C), dst);
      v.set(qkv.subarray(src + 2 * C, src + 3 * C), dst);
    }
  }

  attention(out: Float32Array, att: Float32Array, qkv: Float32Array, drop: AttentionDropout<Float32Array> | null,
    B: number, T: number, C: number, H: number): void {
    const mask = this.dropMask(drop, B * H * T * T);
    this.attentionMasked(out, att, qkv, mask, B, T, C, H);
    if (mask && drop && !('mask' in drop)) this.free(mask);
  }

  attentionBackward(dqkv: Float32Array, dout: Float32Array, _out: Float32Array, qkv: Float32Array, att: Float32Array,
    drop: AttentionDropout<Float32Array> | null, B: number, T: number, C: number, H: number): void {
    const mask = this.dropMask(drop, B * H * T * T);
    this.attentionMaskedBackward(dqkv, dout, qkv, att, mask, B, T, C, H);
    if (mask && drop && !('mask' in drop)) this.free(mask);
  }

  /** The mask of a dropout, made from its key when it has no buffer. */
  private dropMask(drop: AttentionDropout<Float32Array> | null, n: number): Float32Array | null {
    if (!drop) return null;
    if ('mask' in drop) return drop.mask;
    const mask = this.alloc(n, false);
    this.dropoutMask(mask, n, drop.p, drop.key0, drop.key1);
    return mask;
  }

  /** The CPU backends keep the probabilities [B, H, T, T] for the backward. */
  attentionSaved(B: number, H: number, T: number): number {
    return B * H * T * T;
  }

  /** The saved probabilities, with zeros above the diagonal. */
  attentionProbs(att: Float32Array, saved: Float32Array, _qkv: Float32Array, B: number, T: number, _C: number, H: number): void {
    for (let row = 0; row < B * H * T; row++) {
      const t = row % T, o = row * T;
      att.set(saved.subarray(o, o + t + 1), o);
      att.fill(0, o + t + 1, o + T);
    }
  }

  /**
   * Follows the reference attention kernel's arithmetic (float64 sums, probabilities rounded
   * to float32), so that cached and uncached sampling pick the same tokens.
   */
  cachedAttention(out: Float32Array, qkv: Float32Array, k: Float32Array, v: Float32Array, B: number, Tn: number, C: number,
    H: number, T0: number, maxT: number): void {
    const C3 = 3 * C, hs = C / H, scale = 1 / Math.sqrt(hs);
    const p = new Float32Array(T0 + Tn);
    const acc = new Float64Array(hs);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < Tn; t++) {
      const qo = (b * Tn + t) * C3 + h * hs, last = T0 + t;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        const ko = (b * maxT + j) * C + h * hs;
        let s = 0;
        for (let i = 0; i < hs; i++) s += qkv[qo + i] * k[ko + i];
        p[j] = s * scale;
        if (p[j] > max) max = p[j];
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        p[j] = Math.exp(p[j] - max);
        sum += p[j];
      }
      for (let j = 0; j <= last; j++) p[j] /= sum;
      // y = sum over j of p[j] * v[j], j ascending (the reference kernel's order)
      acc.fill(0);
      for (let j = 0; j <= last; j++) {
        const vo = (b * maxT + j) * C + h * hs, pj = p[j];
        for (let i = 0; i < hs; i++) acc[i] += pj * v[vo + i];
      }
      const yo = (b * Tn + t) * C + h * hs;
      for (let i = 0; i < hs; i++) out[yo + i] = acc[i];
    }
  }

  // the fast kernels each subclass implements
  abstract matmul(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  abstract addBroadcast(out: Float32Array, a: Float32Array, b: Float32Array, size: number, n: number): void;
  abstract sumRowsInto(db: Float32Array, dy: Float32Array, rows: number, n: number): void;
  abstract axpy(dst: Float32Array, src: Float32Array, scale: number, n: number): void;
  abstract scale(out: Float32Array, x: Float32Array, scale: number, n: number): void;
  abstract embedding(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void;
  abstract embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void;
  abstract layerNorm(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, N: number, C: number, eps: number): void;
  abstract layerNormBackward(dx: Float32Array, dw: Float32Array, db: Float32Array | null, dout: Float32Array, x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number): void;
  abstract gelu(out: Float32Array, x: Float32Array, n: number, tanh: boolean): void;
  abstract geluBackward(dx: Float32Array, dout: Float32Array, x: Float32Array, n: number, tanh: boolean): void;
  abstract attentionMasked(out: Float32Array, att: Float32Array, qkv: Float32Array, mask: Float32Array | null, B: number, T: number, C: number, H: number): void;
  abstract attentionMaskedBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, mask: Float32Array | null, B: number, T: number, C: number, H: number): void;
  abstract softmax(out: Float32Array, x: Float32Array, N: number, V: number, temperature: number): void;
  abstract mul(out: Float32Array, x: Float32Array, mask: Float32Array, n: number): void;
  abstract mulBackward(dx: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void;
}

function countTargets(targets: Int32Array, N: number): number {
  let count = 0;
  for (let i = 0; i < N; i++) if (targets[i] !== -1) count++;
  return count;
}

/** MurmurHash3's 32-bit finalizer. */
function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
