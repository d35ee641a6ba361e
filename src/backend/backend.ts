/**
 * The kernels every backend implements. Buffers are Float32Arrays that the backend allocated
 * (a WebAssembly backend hands out views of its own memory), so a kernel never copies its
 * operands. Shapes are passed as plain numbers; all tensors are contiguous and row-major.
 *
 * Conventions, llm.c style:
 * - forward kernels overwrite their output;
 * - backward kernels ADD into the gradient buffers they are given (gradients accumulate
 *   across uses of a tensor and across micro-steps);
 * - a kernel never allocates storage that outlives the call.
 */
export interface Backend {
  readonly name: string;
  /**
   * A buffer of n floats, owned by the caller until `free`: zero-filled, or with unspecified
   * contents when `zero` is false (for outputs a kernel overwrites whole).
   */
  alloc(n: number, zero?: boolean): Float32Array;
  free(buf: Float32Array): void;

  /**
   * c[M,N] = (accumulate ? c : 0) + op(a) @ op(b), where op(a) is [M,K] (a is [K,M] when
   * transA) and op(b) is [K,N] (b is [N,K] when transB).
   */
  matmul(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;

  /** out[r, c] = a[r, c] + b[c mod n], with b of length n broadcast over rows of a (a.length = rows * n). */
  addBroadcast(out: Float32Array, a: Float32Array, b: Float32Array, size: number, n: number): void;
  /** db[c] += sum over rows r of dy[r, c]  (dy is [rows, n]). */
  sumRowsInto(db: Float32Array, dy: Float32Array, rows: number, n: number): void;
  /** dst[i] += scale * src[i] for i < n. */
  axpy(dst: Float32Array, src: Float32Array, scale: number, n: number): void;
  /** out[i] = scale * x[i]. */
  scale(out: Float32Array, x: Float32Array, scale: number, n: number): void;
  /** Sum of x[i]^2 (in float64). */
  sumSquares(x: Float32Array, n: number): number;

  /** out[i, :] = table[ids[i], :]  (table [V, C], out [N, C]). */
  embedding(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void;
  /** dtable[ids[i], :] += dout[i, :]. */
  embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void;

  /** Per row of x [N, C]: out = (x - mean) * rstd * w + b; saves mean[N], rstd[N]. b may be null. */
  layerNorm(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array,
    w: Float32Array, b: Float32Array | null, N: number, C: number, eps: number): void;
  /** Adds into dx, dw and db (db may be null). */
  layerNormBackward(dx: Float32Array, dw: Float32Array, db: Float32Array | null, dout: Float32Array,
    x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number): void;

  /** GELU, exact (erf) or the tanh approximation. */
  gelu(out: Float32Array, x: Float32Array, n: number, tanh: boolean): void;
  geluBackward(dx: Float32Array, dout: Float32Array, x: Float32Array, n: number, tanh: boolean): void;

  /**
   * Causal self-attention straight from the fused projection: qkv [B, T, 3C] (q, k, v in that
   * order, head h at columns h*hs..), out [B, T, C]. Saves the softmax probabilities in
   * att [B, H, T, T] (only j <= i is written or read). dropMask, if given, is [B, H, T, T] of
   * 0 or 1/(1-p), applied to the probabilities.
   */
  attention(out: Float32Array, att: Float32Array, qkv: Float32Array, dropMask: Float32Array | null,
    B: number, T: number, C: number, H: number): void;
  /** Adds into dqkv. scratch is [T] floats at least. */
  attentionBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    dropMask: Float32Array | null, B: number, T: number, C: number, H: number): void;

  /** Softmax over each row of x [N, V], scaled by 1/temperature first. */
  softmax(out: Float32Array, x: Float32Array, N: number, V: number, temperature: number): void;
  /**
   * Per row: probs = softmax(logits), losses[i] = -log probs[i, targets[i]] (0 where target is -1).
   * Returns the number of rows whose target is not -1.
   */
  crossEntropy(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array,
    N: number, V: number): number;
  /** dlogits[i, :] += dloss * (probs[i, :] - onehot(targets[i])), rows with target -1 skipped. */
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number,
    N: number, V: number): void;

  /** out = x * mask (elementwise; mask holds 0 or 1/(1-p)). */
  mul(out: Float32Array, x: Float32Array, mask: Float32Array, n: number): void;
  /** dx += dout * mask. */
  mulBackward(dx: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void;

  /**
   * One AdamW step on one parameter, PyTorch's update: p -= lr*wd*p; m, v moments;
   * p -= lr * mhat / (sqrt(vhat) + eps), with bias corrections for step t (1-based).
   * gradScale multiplies the gradient first (gradient clipping).
   */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, t: number, gradScale: number): void;
}
