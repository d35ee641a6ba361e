import { CpuBackend } from '../cpu.js';
import { geluGradScalar, geluScalar } from './math.js';

/**
 * The ground truth: every kernel as a plain loop, in the order the math is written.
 * Accumulations run in float64 (JS numbers) and round once when stored.
 */
export class ReferenceBackend extends CpuBackend {
  readonly name: string = 'reference';

  alloc(n: number, _zero = true): Float32Array {
    return new Float32Array(n);
  }

  free(_buf: Float32Array): void {
    // garbage-collected
  }

  matmul(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void {
    // Inner loops run over contiguous memory, sums in float64; four independent partial sums
    // (or four rows of b at a time) keep the loop from waiting on one running sum.
    if (transB) {
      // b is [N, K]: c[i, j] = a_row(i) . b[j, :]
      const arow = new Float64Array(K);
      const K4 = K - (K % 4);
      for (let i = 0; i < M; i++) {
        for (let k = 0; k < K; k++) arow[k] = transA ? a[k * M + i] : a[i * K + k];
        for (let j = 0; j < N; j++) {
          const bo = j * K;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let k = 0; k < K4; k += 4) {
            s0 += arow[k] * b[bo + k];
            s1 += arow[k + 1] * b[bo + k + 1];
            s2 += arow[k + 2] * b[bo + k + 2];
            s3 += arow[k + 3] * b[bo + k + 3];
          }
          for (let k = K4; k < K; k++) s0 += arow[k] * b[bo + k];
          const s = s0 + s1 + s2 + s3;
          c[i * N + j] = accumulate ? c[i * N + j] + s : s;
        }
      }
      return;
    }
    // b is [K, N]: c[i, :] = sum over k of a(i, k) * b[k, :]
    const acc = new Float64Array(N);
    const K4 = K - (K % 4);
    const at = (i: number, k: number) => (transA ? a[k * M + i] : a[i * K + k]);
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      for (let k = 0; k < K4; k += 4) {
        const a0 = at(i, k), a1 = at(i, k + 1), a2 = at(i, k + 2), a3 = at(i, k + 3);
        const b0 = k * N, b1 = b0 + N, b2 = b1 + N, b3 = b2 + N;
        for (let j = 0; j < N; j++) acc[j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
      for (let k = K4; k < K; k++) {
        const aik = at(i, k), bo = k * N;
        for (let j = 0; j < N; j++) acc[j] += aik * b[bo + j];
      }
      const co = i * N;
      for (let j = 0; j < N; j++) c[co + j] = accumulate ? c[co + j] + acc[j] : acc[j];
    }
  }

  addBroadcast(out: Float32Array, a: Float32Array, b: Float32Array, size: number, n: number): void {
    for (let i = 0; i < size; i++) out[i] = a[i] + b[i % n];
  }

  sumRowsInto(db: Float32Array, dy: Float32Array, rows: number, n: number): void {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += dy[r * n + j];
      db[j] += s;
    }
  }

  axpy(dst: Float32Array, src: Float32Array, scale: number, n: number): void {
    for (let i = 0; i < n; i++) dst[i] += scale * src[i];
  }

  scale(out: Float32Array, x: Float32Array, scale: number, n: number): void {
    for (let i = 0; i < n; i++) out[i] = scale * x[i];
  }

  protected sumSquaresValue(x: Float32Array, n: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  }

  embedding(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void {
    for (let i = 0; i < N; i++) {
      const row = ids[i] * C;
      for (let c = 0; c < C; c++) out[i * C + c] = table[row + c];
    }
  }

  embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void {
    for (let i = 0; i < N; i++) {
      const row = ids[i] * C;
      for (let c = 0; c < C; c++) dtable[row + c] += dout[i * C + c];
    }
  }

  layerNorm(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array,
    w: Float32Array, b: Float32Array | null, N: number, C: number, eps: number): void {
    for (let i = 0; i < N; i++) {
      const o = i * C;
      let m = 0;
      for (let c = 0; c < C; c++) m += x[o + c];
      m /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (x[o + c] - m) * (x[o + c] - m);
      const r = 1 / Math.sqrt(v / C + eps);
      for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - m) * r * w[c] + (b ? b[c] : 0);
      mean[i] = m;
      rstd[i] = r;
    }
  }

  layerNormBackward(dx: Float32Array, dw: Float32Array, db: Float32Array | null, dout: Float32Array,
    x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number): void {
    for (let i = 0; i < N; i++) {
      const o = i * C, m = mean[i], r = rstd[i];
      // dxhat = dout * w; dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
      let sumD = 0, sumDX = 0;
      for (let c = 0; c < C; c++) {
        const xhat = (x[o + c] - m) * r;
        const d = dout[o + c] * w[c];
        sumD += d;
        sumDX += d * xhat;
      }
      sumD /= C;
      sumDX /= C;
      for (let c = 0; c < C; c++) {
        const xhat = (x[o + c] - m) * r;
        dx[o + c] += r * (dout[o + c] * w[c] - sumD - xhat * sumDX);
        dw[c] += dout[o + c] * xhat;
        if (db) db[c] += dout[o + c];
      }
    }
  }

  gelu(out: Float32Array, x: Float32Array, n: number, tanh: boolean): void {
    for (let i = 0; i < n; i++) out[i] = geluScalar(x[i], tanh);
  }

  geluBackward(dx: Float32Array, dout: Float32Array, x: Float32Array, n: number, tanh: boolean): void {
    for (let i = 0; i < n; i++) dx[i] += dout[i] * geluGradScalar(x[i], tanh);
  }

  attentionMasked(out: Float32Array, att: Float32Array, qkv: Float32Array, dropMask: Float32Array | null,
    B: number, T: number, C: number, H: number): void {
    const hs = C / H, C3 = 3 * C, scale = 1 / Math.sqrt(hs);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const q = (b * T + t) * C3 + h * hs;
          const arow = ((b * H + h) * T + t) * T;
          // scores over the visible keys t2 <= t, then a stable softmax
          let max = -Infinity;
          for (let t2 = 0; t2 <= t; t2++) {
            const k = (b * T + t2) * C3 + C + h * hs;
            let s = 0;
            for (let i = 0; i < hs; i++) s += qkv[q + i] * qkv[k + i];
            s *= scale;
            att[arow + t2] = s;
            if (s > max) max = s;
          }
          let sum = 0;
          for (let t2 = 0; t2 <= t; t2++) {
            const e = Math.exp(att[arow + t2] - max);
            att[arow + t2] = e;
            sum += e;
          }
          for (let t2 = 0; t2 <= t; t2++) att[arow + t2] /= sum;
          const o = (b * T + t) * C + h * hs;
          for (let i = 0; i < hs; i++) {
            let s = 0;
            for (let t2 = 0; t2 <= t; t2++) {
              const p = dropMask ? att[arow + t2] * dropMask[arow + t2] : att[arow + t2];
              s += p * qkv[(b * T + t2) * C3 + 2 * C + h * hs + i];
            }
            out[o + i] = s;
          }
        }
      }
    }
  }

  attentionMaskedBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    dropMask: Float32Array | null, B: number, T: number, C: number, H: number): void {
    const hs = C / H, C3 = 3 * C, scale = 1 / Math.sqrt(hs);
    const dp = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const arow = ((b * H + h) * T + t) * T;
          const o = (b * T + t) * C + h * hs;
          // d(dropped probs) = dout . v ; dv += dropped probs * dout
          for (let t2 = 0; t2 <= t; t2++) {
            const v = (b * T + t2) * C3 + 2 * C + h * hs;
            const mask = dropMask ? dropMask[arow + t2] : 1;
            let s = 0;
            for (let i = 0; i < hs; i++) {
              s += dout[o + i] * qkv[v + i];
              dqkv[v + i] += att[arow + t2] * mask * dout[o + i];
            }
            dp[t2] = s * mask;
          }
          // softmax backward: dscore = p * (dp - sum(p * dp))
          let dot = 0;
          for (let t2 = 0; t2 <= t; t2++) dot += att[arow + t2] * dp[t2];
          const q = (b * T + t) * C3 + h * hs;
          for (let t2 = 0; t2 <= t; t2++) {
            const ds = att[arow + t2] * (dp[t2] - dot) * scale;
            const k = (b * T + t2) * C3 + C + h * hs;
            for (let i = 0; i < hs; i++) {
              dqkv[q + i] += ds * qkv[k + i];
              dqkv[k + i] += ds * qkv[q + i];
            }
          }
        }
      }
    }
  }

  softmax(out: Float32Array, x: Float32Array, N: number, V: number, temperature: number): void {
    for (let i = 0; i < N; i++) {
      const o = i * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (x[o + j] > max) max = x[o + j];
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp((x[o + j] - max) / temperature);
      for (let j = 0; j < V; j++) out[o + j] = Math.exp((x[o + j] - max) / temperature) / sum;
    }
  }

  protected crossEntropyRows(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array,
    N: number, V: number): void {
    for (let i = 0; i < N; i++) {
      const o = i * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max);
      for (let j = 0; j < V; j++) probs[o + j] = Math.exp(logits[o + j] - max) / sum;
      const t = targets[i];
      if (t === -1) {
        losses[i] = 0;
        continue;
      }
      losses[i] = Math.log(sum) - (logits[o + t] - max);
    }
  }

  protected crossEntropyRowsBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number,
    N: number, V: number): void {
    for (let i = 0; i < N; i++) {
      const t = targets[i];
      if (t === -1) continue;
      const o = i * V;
      for (let j = 0; j < V; j++) dlogits[o + j] += dloss * (probs[o + j] - (j === t ? 1 : 0));
    }
  }

  mul(out: Float32Array, x: Float32Array, mask: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = x[i] * mask[i];
  }

  mulBackward(dx: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) dx[i] += dout[i] * mask[i];
  }

  protected adamwStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, t: number, gradScale: number): void {
    const bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
    for (let i = 0; i < n; i++) {
      const grad = g[i] * gradScale;
      m[i] = beta1 * m[i] + (1 - beta1) * grad;
      v[i] = beta2 * v[i] + (1 - beta2) * grad * grad;
      const pi = p[i] * (1 - lr * weightDecay);
      p[i] = pi - lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + eps);
    }
  }
}
