/**
 * The contract between the engine and a compute device. A backend owns its storage: a buffer is
 * an opaque handle (`Buf`: a Float32Array on the CPU backends, a GPU buffer on a device), values
 * cross to the host only through `write` and `read`/`readSync`, and every computation on tensor
 * values is one of the kernels below.
 *
 * Conventions, llm.c style:
 * - forward kernels overwrite their output;
 * - backward kernels ADD into the gradient buffers they are given (gradients accumulate
 *   across uses of a tensor and across micro-steps);
 * - a kernel never allocates storage that outlives the call;
 * - shapes are plain numbers; all tensors are contiguous and row-major; token ids and targets
 *   are host Int32Arrays (the backend moves them where it computes).
 *
 * To add a kernel: declare it in `Kernels`, add its name to KERNEL_NAMES (the compiler checks
 * the list is complete), implement it in each backend, and test it in test/kernels.test.ts.
 */
export interface Kernels<Buf = unknown> {
  /**
   * c[M,N] = (accumulate ? c : 0) + op(a) @ op(b), where op(a) is [M,K] (a is [K,M] when
   * transA) and op(b) is [K,N] (b is [N,K] when transB).
   */
  matmul(c: Buf, a: Buf, b: Buf, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;

  /** out[r, c] = a[r, c] + b[c mod n], with b of length n broadcast over rows of a (a.length = rows * n). */
  addBroadcast(out: Buf, a: Buf, b: Buf, size: number, n: number): void;
  /** db[c] += sum over rows r of dy[r, c]  (dy is [rows, n]). */
  sumRowsInto(db: Buf, dy: Buf, rows: number, n: number): void;
  /** dst[i] += scale * src[i] for i < n. */
  axpy(dst: Buf, src: Buf, scale: number, n: number): void;
  /** out[i] = scale * x[i]. */
  scale(out: Buf, x: Buf, scale: number, n: number): void;
  /** out[i] = value for i < n. */
  fill(out: Buf, value: number, n: number): void;
  /** out[0] = (accumulate ? out[0] : 0) + sum of x[i]^2 over i < n. */
  sumSquares(out: Buf, x: Buf, n: number, accumulate: boolean): void;
  /** torch.nn.utils.clip_grad_norm_'s factor: out[0] = min(1, maxNorm / (sqrt(normSq[0]) + 1e-6)). */
  gradClipScale(out: Buf, normSq: Buf, maxNorm: number): void;

  /** out[i, :] = table[ids[i], :]  (table [V, C], out [N, C]). */
  embedding(out: Buf, table: Buf, ids: Int32Array, N: number, C: number): void;
  /** dtable[ids[i], :] += dout[i, :]. */
  embeddingBackward(dtable: Buf, dout: Buf, ids: Int32Array, N: number, C: number): void;

  /** Per row of x [N, C]: out = (x - mean) * rstd * w + b; saves mean[N], rstd[N]. b may be null. */
  layerNorm(out: Buf, mean: Buf, rstd: Buf, x: Buf, w: Buf, b: Buf | null, N: number, C: number, eps: number): void;
  /** Adds into dx, dw and db (db may be null). */
  layerNormBackward(dx: Buf, dw: Buf, db: Buf | null, dout: Buf, x: Buf, w: Buf, mean: Buf, rstd: Buf,
    N: number, C: number): void;

  /** GELU, exact (erf) or the tanh approximation. */
  gelu(out: Buf, x: Buf, n: number, tanh: boolean): void;
  geluBackward(dx: Buf, dout: Buf, x: Buf, n: number, tanh: boolean): void;

  /**
   * Causal self-attention straight from the fused projection: qkv [B, T, 3C] (q, k, v in that
   * order, head h at columns h*hs..), out [B, T, C], the probabilities dropped by `drop` if given.
   * `saved` (attentionSaved(B, H, T) floats) is what the backward needs, in the backend's own
   * layout: the CPU backends keep the probabilities [B, H, T, T], the WebGPU backend only each
   * row's log-sum-exp [B, H, T] (its kernels are flash-attention style and never store T x T).
   */
  attention(out: Buf, saved: Buf, qkv: Buf, drop: AttentionDropout<Buf> | null, B: number, T: number, C: number, H: number): void;
  /** Adds into dqkv. out is attention's output, saved what it saved, drop the same dropout. */
  attentionBackward(dqkv: Buf, dout: Buf, out: Buf, qkv: Buf, saved: Buf, drop: AttentionDropout<Buf> | null,
    B: number, T: number, C: number, H: number): void;
  /** Floats attention keeps for its backward (the size of `saved`). */
  attentionSaved(B: number, H: number, T: number): number;
  /**
   * The softmax probabilities att [B, H, T, T] of an attention call (without dropout) from what it
   * saved: row t holds the weights position t gives to 0..t, zeros above the diagonal.
   */
  attentionProbs(att: Buf, saved: Buf, qkv: Buf, B: number, T: number, C: number, H: number): void;
  /**
   * Copies the k and v of new positions qkv [B, Tn, 3C] into caches k, v [B, maxT, C] at
   * positions T0 .. T0 + Tn - 1.
   */
  kvStore(k: Buf, v: Buf, qkv: Buf, B: number, Tn: number, C: number, T0: number, maxT: number): void;
  /**
   * Attention of the new positions qkv [B, Tn, 3C] (absolute positions T0 ..) over the cached
   * keys and values k, v [B, maxT, C] up to each one's own position (kvStore has run): out [B, Tn, C].
   */
  cachedAttention(out: Buf, qkv: Buf, k: Buf, v: Buf, B: number, Tn: number, C: number, H: number,
    T0: number, maxT: number): void;

  /** Softmax over each row of x [N, V], scaled by 1/temperature first. */
  softmax(out: Buf, x: Buf, N: number, V: number, temperature: number): void;
  /** dx += y * (dy - sum(dy * y)) / temperature per row, where y = softmax(x / temperature). */
  softmaxBackward(dx: Buf, y: Buf, dy: Buf, N: number, V: number, temperature: number): void;
  /**
   * probs = softmax(logits) per row of [N, V]; loss[0] = mean over rows whose target is not -1
   * of -log probs[i, targets[i]] (NaN when every target is -1, as PyTorch).
   */
  crossEntropy(loss: Buf, probs: Buf, logits: Buf, targets: Int32Array, N: number, V: number): void;
  /** dlogits[i, :] += dloss[0] / count * (probs[i, :] - onehot(targets[i])), rows with target -1 skipped. */
  crossEntropyBackward(dlogits: Buf, probs: Buf, targets: Int32Array, dloss: Buf, N: number, V: number): void;

  /** out = x * mask (elementwise; mask holds 0 or 1/(1-p)). */
  mul(out: Buf, x: Buf, mask: Buf, n: number): void;
  /** dx += dout * mask. */
  mulBackward(dx: Buf, dout: Buf, mask: Buf, n: number): void;
  /**
   * A dropout mask from yorick's device-side stream, the same on every backend: mask[i] = 0 with
   * probability p, else float32 1/(1 - p). Element i is dropped when (h >>> 8) < floor(p * 2^24),
   * h = fmix32(fmix32(i ^ key0) ^ key1), fmix32 being MurmurHash3's 32-bit finalizer
   * (dropoutThreshold gives the two numbers).
   */
  dropoutMask(mask: Buf, n: number, p: number, key0: number, key1: number): void;

  /** out[b, :] = x[b, t, :] for x [B, T, C], out [B, C]. */
  selectPosition(out: Buf, x: Buf, B: number, T: number, C: number, t: number): void;
  /** dx[b, t, :] += dout[b, :]. */
  selectPositionBackward(dx: Buf, dout: Buf, B: number, T: number, C: number, t: number): void;

  /**
   * One AdamW step on one parameter, PyTorch's update: p -= lr*wd*p; m, v moments;
   * p -= lr * mhat / (sqrt(vhat) + eps), with bias corrections for step t (1-based). The
   * gradient is first multiplied by gradScale[0] when gradScale is given (gradient clipping).
   */
  adamw(p: Buf, g: Buf, m: Buf, v: Buf, n: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, t: number, gradScale: Buf | null): void;
}

/** A compute device: its storage and its kernels. */
export interface Backend<Buf = unknown> extends Kernels<Buf> {
  readonly name: string;
  /**
   * A buffer of n floats, owned by the caller until `free`: zero-filled, or with unspecified
   * contents when `zero` is false (for outputs a kernel overwrites whole).
   */
  alloc(n: number, zero?: boolean): Buf;
  free(buf: Buf): void;
  /** Copies src into buf starting at element offset. */
  write(buf: Buf, src: Float32Array, offset?: number): void;
  /** A host copy of the first n values. */
  read(buf: Buf, n: number): Promise<Float32Array>;
  /** The same, synchronously: CPU backends only (a device backend leaves it out). */
  readSync?(buf: Buf, n: number): Float32Array;
}

/**
 * Dropout of the attention probabilities [B, H, T, T]: a mask buffer of 0 or 1/(1-p), or the key
 * of the device stream (the mask dropoutMask(mask, B*H*T*T, p, key0, key1) would write), which a
 * backend may compute where it is used instead of storing it.
 */
export type AttentionDropout<Buf> = { mask: Buf } | { p: number; key0: number; key1: number };

/** Every kernel by name: the list each backend is checked against when it loads. */
export const KERNEL_NAMES = [
  'matmul', 'addBroadcast', 'sumRowsInto', 'axpy', 'scale', 'fill', 'sumSquares', 'gradClipScale',
  'embedding', 'embeddingBackward', 'layerNorm', 'layerNormBackward', 'gelu', 'geluBackward',
  'attention', 'attentionBackward', 'attentionSaved', 'attentionProbs', 'kvStore', 'cachedAttention', 'softmax', 'softmaxBackward',
  'crossEntropy', 'crossEntropyBackward', 'mul', 'mulBackward', 'dropoutMask', 'selectPosition', 'selectPositionBackward',
  'adamw',
] as const satisfies readonly (keyof Kernels)[];

// The compiler refuses the list above if a kernel of the interface is missing from it.
type Missing = Exclude<keyof Kernels, (typeof KERNEL_NAMES)[number]>;
const listIsComplete: Missing extends never ? true : Missing = true;
void listIsComplete;

const STORAGE = ['alloc', 'free', 'write', 'read'] as const;

/** Throws, naming them, when a backend lacks kernels or storage functions; returns it otherwise. */
export function checkBackend<B extends Backend>(backend: B): B {
  const b = backend as unknown as Record<string, unknown>;
  const missing = [...STORAGE, ...KERNEL_NAMES].filter((k) => typeof b[k] !== 'function');
  if (missing.length) throw new Error(`backend "${backend.name}" is missing kernel(s): ${missing.join(', ')}`);
  return backend;
}

/**
 * dropoutMask's numbers for probability p: the 24-bit threshold below which an element is dropped,
 * and the float32 value kept elements get.
 */
export function dropoutThreshold(p: number): { threshold: number; keep: number } {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  return { threshold: Math.floor(p * 16777216), keep: Math.fround(1 / (1 - p)) };
}
