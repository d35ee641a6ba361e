// Every kernel of every fast backend against the reference backend, on random inputs and shapes
// that include sizes which are not multiples of any SIMD width (ggml's test-backend-ops, in small).
import { describe, test } from 'node:test';
import type { Backend } from '../src/backend/backend.js';
import { ReferenceBackend } from '../src/backend/reference.js';
import { Rng } from '../src/tensor/rng.js';
import { assertClose, backendsUnderTest } from './helpers.js';

const reference = new ReferenceBackend();
const fast = (await backendsUnderTest()).filter((b) => b.name !== 'reference');

/** Buffers on one backend, filled from a seeded rng: the same values on every backend. */
class Bufs {
  readonly made: Float32Array[] = [];
  constructor(readonly be: Backend, readonly rng: Rng) {}
  rand(n: number, scale = 1): Float32Array {
    const b = this.be.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (this.rng.random() * 2 - 1) * scale;
    this.made.push(b);
    return b;
  }
  /** 0 or 1/(1-p) with probability p of 0 (a dropout mask). */
  mask(n: number, p = 0.25): Float32Array {
    const b = this.be.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.rng.random() < p ? 0 : 1 / (1 - p);
    this.made.push(b);
    return b;
  }
  ids(n: number, V: number, ignore = false): Int32Array {
    return Int32Array.from({ length: n }, () => (ignore && this.rng.random() < 0.2 ? -1 : this.rng.int(V)));
  }
  /** Copies of the outputs, then every buffer freed. */
  done(outs: Record<string, ArrayLike<number>>): Record<string, number[]> {
    const copy = Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, Array.from(v)]));
    for (const b of this.made) this.be.free(b);
    return copy;
  }
}

type Case = (b: Bufs) => Record<string, number[]>;

/** One test per backend: the case on the backend and on the reference, outputs compared. */
function kernel(name: string, tol: number, shapes: unknown[][], run: (b: Bufs, ...shape: never[]) => Record<string, number[]>): void {
  for (const be of fast) {
    test(`${name} on ${be.name}`, () => {
      shapes.forEach((shape, si) => {
        const c: Case = (b) => run(b, ...(shape as never[]));
        const want = c(new Bufs(reference, new Rng(1000 + si)));
        const got = c(new Bufs(be, new Rng(1000 + si)));
        for (const k of Object.keys(want)) assertClose(got[k], want[k], tol, `${name} [${shape.join(', ')}] ${k}`);
      });
    });
  }
}

describe('kernels against the reference backend', () => {
  test('fast backends to check', { skip: fast.length === 0 ? 'no fast backend loads here' : false }, () => {});

  const mm: unknown[][] = [];
  for (const [M, N, K] of [[1, 1, 1], [1, 7, 5], [2, 9, 300], [3, 5, 7], [4, 8, 16], [5, 9, 33], [17, 65, 33], [64, 384, 128], [130, 33, 513], [13, 10, 257]]) {
    for (const tA of [false, true]) for (const tB of [false, true]) mm.push([M, N, K, tA, tB, (M + N + K) % 2 === 0]);
  }
  kernel('matmul', 2e-5, mm, (b, M: number, N: number, K: number, tA: boolean, tB: boolean, acc: boolean) => {
    const c = b.rand(M * N), a = b.rand(M * K), bb = b.rand(K * N);
    b.be.matmul(c, a, bb, M, N, K, tA, tB, acc);
    return b.done({ c });
  });

  kernel('addBroadcast', 1e-6, [[1, 1], [15, 5], [768 * 128, 128], [1001, 7], [64 * 130, 64 * 130]], (b, size: number, n: number) => {
    const out = b.rand(size), a = b.rand(size), v = b.rand(n);
    b.be.addBroadcast(out, a, v, size, n);
    b.be.addBroadcast(a, a, v, size, n); // in place, as the linear bias add does
    return b.done({ out, a });
  });

  kernel('sumRowsInto', 1e-5, [[1, 1], [3, 5], [12, 8192], [768, 130], [1000, 3]], (b, rows: number, n: number) => {
    const db = b.rand(n), dy = b.rand(rows * n);
    b.be.sumRowsInto(db, dy, rows, n);
    return b.done({ db });
  });

  const sizes = [[0], [1], [3], [4], [17], [1001], [100003]];
  kernel('axpy, scale, mul, mulBackward', 1e-6, sizes, (b, n: number) => {
    const dst = b.rand(n), src = b.rand(n), out = b.rand(n), mask = b.mask(n), dx = b.rand(n), m = b.rand(n);
    b.be.axpy(dst, src, 0.37, n);
    b.be.scale(out, src, -1.5, n);
    b.be.mul(m, src, mask, n);
    b.be.mulBackward(dx, src, mask, n);
    return b.done({ dst, out, m, dx });
  });

  kernel('sumSquares', 1e-6, sizes, (b, n: number) => {
    const x = b.rand(n, 3);
    return b.done({ s: [b.be.sumSquares(x, n)] });
  });

  kernel('embedding and embeddingBackward', 1e-6, [[1, 1, 1], [5, 3, 7], [768, 128, 65], [33, 130, 10]], (b, N: number, C: number, V: number) => {
    const table = b.rand(V * C), out = b.rand(N * C), dtable = b.rand(V * C), dout = b.rand(N * C);
    const ids = b.ids(N, V);
    b.be.embedding(out, table, ids, N, C);
    b.be.embeddingBackward(dtable, dout, ids, N, C);
    return b.done({ out, dtable });
  });

  kernel('layerNorm and layerNormBackward', 2e-5, [[1, 1, true], [3, 5, false], [7, 128, true], [768, 128, false], [33, 67, true]],
    (b, N: number, C: number, bias: boolean) => {
      const x = b.rand(N * C, 2), w = b.rand(C), bb = bias ? b.rand(C) : null;
      const out = b.rand(N * C), mean = b.rand(N), rstd = b.rand(N);
      b.be.layerNorm(out, mean, rstd, x, w, bb, N, C, 1e-5);
      const dx = b.rand(N * C), dw = b.rand(C), db = bias ? b.rand(C) : null, dout = b.rand(N * C);
      b.be.layerNormBackward(dx, dw, db, dout, x, w, mean, rstd, N, C);
      return b.done({ out, mean, rstd, dx, dw, ...(db ? { db } : {}) });
    });

  for (const tanh of [false, true]) {
    kernel(`gelu${tanh ? ' (tanh)' : ''} and its backward`, 1e-5, [[0], [1], [7], [1001], [98304]], (b, n: number) => {
      const x = b.rand(n, 5), out = b.rand(n), dx = b.rand(n), dout = b.rand(n);
      b.be.gelu(out, x, n, tanh);
      b.be.geluBackward(dx, dout, x, n, tanh);
      return b.done({ out, dx });
    });
  }

  kernel('attention and attentionBackward', 1e-4,
    [[1, 1, 4, 1, false], [2, 5, 12, 2, true], [1, 7, 6, 2, false], [3, 17, 40, 4, true], [2, 33, 64, 1, false], [12, 64, 128, 4, false], [4, 64, 128, 4, true]],
    (b, B: number, T: number, C: number, H: number, drop: boolean) => {
      const qkv = b.rand(B * T * 3 * C), out = b.rand(B * T * C), att = b.rand(B * H * T * T);
      const mask = drop ? b.mask(B * H * T * T) : null;
      b.be.attention(out, att, qkv, mask, B, T, C, H);
      const dqkv = b.rand(B * T * 3 * C), dout = b.rand(B * T * C);
      b.be.attentionBackward(dqkv, dout, qkv, att, mask, B, T, C, H);
      return b.done({ out, att, dqkv });
    });

  kernel('softmax', 1e-5, [[1, 1, 1], [3, 65, 1], [768, 65, 0.7], [5, 1001, 2]], (b, N: number, V: number, temperature: number) => {
    const x = b.rand(N * V, 4), out = b.rand(N * V);
    b.be.softmax(out, x, N, V, temperature);
    return b.done({ out });
  });

  kernel('crossEntropy and crossEntropyBackward', 1e-5, [[1, 1], [3, 65], [768, 65], [5, 1001]], (b, N: number, V: number) => {
    const logits = b.rand(N * V, 4), losses = b.rand(N), probs = b.rand(N * V), dlogits = b.rand(N * V);
    const targets = b.ids(N, V, true);
    const count = b.be.crossEntropy(losses, probs, logits, targets, N, V);
    b.be.crossEntropyBackward(dlogits, probs, targets, 0.01, N, V);
    return b.done({ losses, probs, dlogits, count: [count] });
  });

  kernel('adamw', 1e-5, [[1, 1], [7, 2], [1001, 3], [100003, 10]], (b, n: number, t: number) => {
    const p = b.rand(n), g = b.rand(n), m = b.rand(n, 0.1), v = b.rand(n, 0.01);
    for (let i = 0; i < n; i++) v[i] = Math.abs(v[i]);
    b.be.adamw(p, g, m, v, n, 1e-3, 0.9, 0.99, 1e-8, 0.1, t, 0.8);
    return b.done({ p, m, v });
  });
});
