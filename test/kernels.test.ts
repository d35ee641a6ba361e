// Every kernel of every fast backend against the reference backend, on random inputs and shapes
// that include sizes which are not multiples of any SIMD width (ggml's test-backend-ops, in small).
import { describe, test } from 'node:test';
import type { Backend } from '../src/backend/backend.js';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { assertClose, backendsSkipped, backendsUnderTest } from './helpers.js';

const reference = new ReferenceBackend();
const fast = (await backendsUnderTest()).filter((b) => b.name !== 'reference');
const skipped = await backendsSkipped();

/** Buffers on one backend, filled from a seeded rng: the same values on every backend. */
class Bufs {
  /** Every buffer made, with its length. */
  readonly made = new Map<unknown, number>();
  constructor(readonly be: Backend, readonly rng: XoshiroRng) {}
  /** A buffer holding the given host values. */
  of(values: Float32Array): unknown {
    const b = this.be.alloc(values.length, false);
    this.be.write(b, values);
    this.made.set(b, values.length);
    return b;
  }
  /** Backend-sized scratch (no draws from rng, so both runs of a case see the same values). */
  empty(n: number): unknown {
    const b = this.be.alloc(n);
    this.made.set(b, n);
    return b;
  }
  rand(n: number, scale = 1): unknown {
    return this.of(Float32Array.from({ length: n }, () => (this.rng.random() * 2 - 1) * scale));
  }
  /** 0 or 1/(1-p) with probability p of 0 (a dropout mask). */
  mask(n: number, p = 0.25): unknown {
    return this.of(Float32Array.from({ length: n }, () => (this.rng.random() < p ? 0 : 1 / (1 - p))));
  }
  ids(n: number, V: number, ignore = false): Int32Array {
    return Int32Array.from({ length: n }, () => (ignore && this.rng.random() < 0.2 ? -1 : this.rng.int(V)));
  }
  /** Host copies of the outputs (read back through the backend), then every buffer freed. */
  async done(outs: Record<string, unknown>): Promise<Record<string, number[]>> {
    const copy: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(outs)) copy[k] = Array.from(await this.be.read(v, this.made.get(v)!));
    for (const b of this.made.keys()) this.be.free(b);
    return copy;
  }
}

/** One test per backend: the case on the backend and on the reference, outputs compared. */
function kernel(name: string, tol: number, shapes: unknown[][], run: (b: Bufs, ...shape: never[]) => Promise<Record<string, number[]>>): void {
  for (const be of fast) {
    test(`${name} on ${be.name}`, async () => {
      for (const [si, shape] of shapes.entries()) {
        const want = await run(new Bufs(reference, new XoshiroRng(1000 + si)), ...(shape as never[]));
        const got = await run(new Bufs(be, new XoshiroRng(1000 + si)), ...(shape as never[]));
        for (const k of Object.keys(want)) assertClose(got[k], want[k], tol, `${name} [${shape.join(', ')}] ${k}`);
      }
    });
  }
}

describe('kernels against the reference backend', () => {
  test('fast backends to check', { skip: fast.length === 0 ? 'no fast backend loads here' : false }, () => {});
  for (const { name, why } of skipped) test(`every kernel on ${name}`, { skip: why }, () => {});

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
    const x = b.rand(n, 3), s = b.rand(1);
    b.be.sumSquares(s, x, n, true);
    return b.done({ s });
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

  // hs 64 is one head slice on WebGPU; 96, 130 and 128 take several (its flash kernels tile the head by 64).
  // Dropout: none, a mask buffer (the torch stream), or the device stream's key (computed in place on WebGPU)
  kernel('attention, attentionBackward and attentionProbs', 1e-4,
    [[1, 1, 4, 1, 'none'], [2, 5, 12, 2, 'mask'], [1, 7, 6, 2, 'key'], [3, 17, 40, 4, 'mask'], [2, 33, 64, 1, 'none'], [12, 64, 128, 4, 'key'],
      [4, 64, 128, 4, 'mask'], [1, 70, 96, 1, 'none'], [2, 37, 130, 1, 'key'], [2, 40, 256, 2, 'mask'], [1, 300, 128, 2, 'key']],
    (b, B: number, T: number, C: number, H: number, drop: 'none' | 'mask' | 'key') => {
      const qkv = b.rand(B * T * 3 * C), out = b.rand(B * T * C), saved = b.empty(b.be.attentionSaved(B, H, T));
      const dropout = drop === 'mask' ? { mask: b.mask(B * H * T * T) } : drop === 'key' ? { p: 0.3, key0: 77, key1: 0xabcdef12 } : null;
      b.be.attention(out, saved, qkv, dropout, B, T, C, H);
      const dqkv = b.rand(B * T * 3 * C), dout = b.rand(B * T * C);
      b.be.attentionBackward(dqkv, dout, out, qkv, saved, dropout, B, T, C, H);
      const att = b.rand(B * H * T * T);
      if (!dropout) b.be.attentionProbs(att, saved, qkv, B, T, C, H);
      return b.done({ out, dqkv, ...(dropout ? {} : { att }) });
    });

  kernel('dropoutMask (the device-side stream is the same on every backend)', 0,
    [[1, 0.5, 1, 2], [1001, 0.2, 123, 456], [100003, 0.9, 0xffffffff, 7], [70000, 0, 5, 5]],
    (b, n: number, p: number, key0: number, key1: number) => {
      const mask = b.rand(n);
      b.be.dropoutMask(mask, n, p, key0, key1);
      return b.done({ mask });
    });

  kernel('softmax', 1e-5, [[1, 1, 1], [3, 65, 1], [768, 65, 0.7], [5, 1001, 2]], (b, N: number, V: number, temperature: number) => {
    const x = b.rand(N * V, 4), out = b.rand(N * V);
    b.be.softmax(out, x, N, V, temperature);
    return b.done({ out });
  });

  kernel('crossEntropy and crossEntropyBackward', 1e-5, [[1, 1], [3, 65], [768, 65], [5, 1001]], (b, N: number, V: number) => {
    const logits = b.rand(N * V, 4), loss = b.rand(1), probs = b.rand(N * V), dlogits = b.rand(N * V);
    const targets = b.ids(N, V, true);
    b.be.crossEntropy(loss, probs, logits, targets, N, V);
    b.be.crossEntropyBackward(dlogits, probs, targets, b.of(Float32Array.of(0.7)), N, V);
    return b.done({ loss, probs, dlogits });
  });

  kernel('adamw', 1e-5, [[1, 1], [7, 2], [1001, 3], [100003, 10]], (b, n: number, t: number) => {
    const p = b.rand(n), g = b.rand(n), m = b.rand(n, 0.1);
    const v = b.of(Float32Array.from({ length: n }, () => b.rng.random() * 0.01));
    b.be.adamw(p, g, m, v, n, 1e-3, 0.9, 0.99, 1e-8, 0.1, t, b.of(Float32Array.of(0.8)));
    b.be.adamw(p, g, m, v, n, 1e-3, 0.9, 0.99, 1e-8, 0, t + 1, null);
    return b.done({ p, m, v });
  });

  kernel('fill and gradClipScale', 1e-6, [[1, 0.5], [17, 1], [1001, 1e9]], (b, n: number, maxNorm: number) => {
    const out = b.rand(n + 2), normSq = b.rand(1, 30), scale = b.rand(1);
    b.be.fill(out, 0.25, n); // the last two values stay
    b.be.sumSquares(normSq, b.rand(n, 2), n, true);
    b.be.gradClipScale(scale, normSq, maxNorm);
    return b.done({ out, scale });
  });

  kernel('softmaxBackward', 1e-5, [[1, 1, 1], [3, 65, 0.8], [64, 1001, 1]], (b, N: number, V: number, temperature: number) => {
    const x = b.rand(N * V, 3), y = b.rand(N * V), dy = b.rand(N * V), dx = b.rand(N * V);
    b.be.softmax(y, x, N, V, temperature);
    b.be.softmaxBackward(dx, y, dy, N, V, temperature);
    return b.done({ dx });
  });

  kernel('selectPosition and its backward', 0, [[1, 1, 1, 0], [3, 5, 7, 4], [12, 64, 128, 63]], (b, B: number, T: number, C: number, t: number) => {
    const x = b.rand(B * T * C), out = b.rand(B * C), dx = b.rand(B * T * C), dout = b.rand(B * C);
    b.be.selectPosition(out, x, B, T, C, t);
    b.be.selectPositionBackward(dx, dout, B, T, C, t);
    return b.done({ out, dx });
  });

  kernel('kvStore and cachedAttention', 1e-5, [[1, 1, 4, 1, 0, 8], [2, 3, 12, 2, 4, 9], [1, 1, 128, 4, 63, 64]],
    (b, B: number, Tn: number, C: number, H: number, T0: number, maxT: number) => {
      const k = b.rand(B * maxT * C), v = b.rand(B * maxT * C), qkv = b.rand(B * Tn * 3 * C), out = b.rand(B * Tn * C);
      b.be.kvStore(k, v, qkv, B, Tn, C, T0, maxT);
      b.be.cachedAttention(out, qkv, k, v, B, Tn, C, H, T0, maxT);
      return b.done({ k, v, out });
    });
});

/**
 * The cached path follows the fused kernel: a prefill of T-1 positions plus the last one
 * through kvStore and cachedAttention equals attention over the whole sequence, on every backend.
 */
describe('cached attention against the fused kernel', () => {
  for (const be of [reference, ...fast]) {
    test(`on ${be.name}`, async () => {
      const B = 2, T = 9, C = 12, H = 3, rng = new XoshiroRng(5);
      const b = new Bufs(be, rng);
      const host = Float32Array.from({ length: B * T * 3 * C }, () => rng.random() * 2 - 1);
      const out = b.rand(B * T * C), saved = b.empty(be.attentionSaved(B, H, T));
      be.attention(out, saved, b.of(host), null, B, T, C, H);
      const prefix = new Float32Array(B * (T - 1) * 3 * C), step = new Float32Array(B * 3 * C);
      for (let i = 0; i < B; i++) {
        prefix.set(host.subarray(i * T * 3 * C, (i * T + T - 1) * 3 * C), i * (T - 1) * 3 * C);
        step.set(host.subarray((i * T + T - 1) * 3 * C, (i * T + T) * 3 * C), i * 3 * C);
      }
      const k = b.rand(B * T * C), v = b.rand(B * T * C), last = b.rand(B * C), stepBuf = b.of(step);
      be.kvStore(k, v, b.of(prefix), B, T - 1, C, 0, T);
      be.kvStore(k, v, stepBuf, B, 1, C, T - 1, T);
      be.cachedAttention(last, stepBuf, k, v, B, 1, C, H, T - 1, T);
      const got = await b.done({ last, out });
      const want = Array.from({ length: B * C }, (_, j) => got.out[(Math.floor(j / C) * T + T - 1) * C + (j % C)]);
      assertClose(got.last, want, 1e-5, 'last position from the cache');
    });
  }
});
