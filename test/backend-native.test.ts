// The native backend's kernels against the reference backend, on random shapes (including
// sizes that are not multiples of the vector width), for every instruction set this CPU
// runs; then the same kernels with 1, 2 and 3 threads must agree bit for bit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CpuBackend } from '../src/backend/cpu.js';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { configureNative, loadNativeBackend, nativeInfo } from '../src/backend/native/native-backend.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { assertClose } from './helpers.js';

const native = loadNativeBackend();
const skip = native ? false : `native backend not available: ${nativeInfo().why}`;
const reference = new ReferenceBackend();
const TOL = 2e-5;

function randn(n: number, rng: XoshiroRng, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function ids(n: number, max: number, rng: XoshiroRng, allowIgnore = false): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = allowIgnore && i % 7 === 3 ? -1 : Math.floor(rng.random() * max);
  return a;
}

/** A case builds its inputs from a seed and runs on a backend; it returns every output buffer and number. */
interface Case {
  name: string;
  run(be: CpuBackend, rng: XoshiroRng): (Float32Array | number)[];
}

function copyTo(be: CpuBackend, src: Float32Array): Float32Array {
  const b = be.alloc(src.length);
  b.set(src);
  return b;
}

const cases: Case[] = [];

for (const [M, N, K] of [[1, 1, 1], [5, 7, 3], [13, 33, 17], [37, 65, 129], [64, 128, 96], [25, 40, 300], [3, 70, 33], [4, 33, 129], [1, 20000, 40]]) {
  for (const transA of [false, true]) for (const transB of [false, true]) for (const acc of [false, true]) {
    cases.push({
      name: `matmul M=${M} N=${N} K=${K} transA=${transA} transB=${transB} accumulate=${acc}`,
      run(be, rng) {
        const a = copyTo(be, randn(M * K, rng)), b = copyTo(be, randn(K * N, rng)), c = copyTo(be, randn(M * N, rng));
        be.matmul(c, a, b, M, N, K, transA, transB, acc);
        return [c];
      },
    });
  }
}

for (const n of [1, 7, 17, 100, 4099, 70001]) {
  cases.push({
    name: `elementwise n=${n}`,
    run(be, rng) {
      const x = copyTo(be, randn(n, rng)), y = copyTo(be, randn(n, rng)), mask = copyTo(be, randn(n, rng));
      const out = be.alloc(n), sc = be.alloc(n), m = be.alloc(n), mb = copyTo(be, randn(n, rng));
      be.axpy(y, x, -0.75, n);
      be.scale(sc, x, 1.5, n);
      be.mul(m, x, mask, n);
      be.mulBackward(mb, y, mask, n);
      const ge = be.alloc(n), gt = be.alloc(n), dge = copyTo(be, randn(n, rng)), dgt = copyTo(be, randn(n, rng));
      const xs = copyTo(be, randn(n, rng, 4));
      be.gelu(ge, xs, n, false);
      be.gelu(gt, xs, n, true);
      be.geluBackward(dge, y, xs, n, false);
      be.geluBackward(dgt, y, xs, n, true);
      const rows = n % 7 === 0 ? 7 : 1, cols = n / rows;
      be.addBroadcast(out, x, mask, n, cols);
      const db = copyTo(be, randn(cols, rng));
      be.sumRowsInto(db, y, rows, cols);
      const sq = be.alloc(1);
      be.sumSquares(sq, x, n, false);
      return [y, sc, m, mb, ge, gt, dge, dgt, out, db, sq];
    },
  });
}

for (const [N, C, V] of [[1, 1, 1], [3, 5, 4], [50, 33, 11], [70, 128, 65]]) {
  cases.push({
    name: `embedding and layerNorm N=${N} C=${C}`,
    run(be, rng) {
      const table = copyTo(be, randn(V * C, rng)), id = ids(N, V, rng);
      const emb = be.alloc(N * C), dtable = copyTo(be, randn(V * C, rng));
      be.embedding(emb, table, id, N, C);
      be.embeddingBackward(dtable, copyTo(be, randn(N * C, rng)), id, N, C);
      const x = copyTo(be, randn(N * C, rng, 3)), w = copyTo(be, randn(C, rng)), b = copyTo(be, randn(C, rng));
      const out = be.alloc(N * C), mean = be.alloc(N), rstd = be.alloc(N), outNb = be.alloc(N * C);
      be.layerNorm(out, mean, rstd, x, w, b, N, C, 1e-5);
      be.layerNorm(outNb, be.alloc(N), be.alloc(N), x, w, null, N, C, 1e-5);
      const dx = copyTo(be, randn(N * C, rng)), dw = copyTo(be, randn(C, rng)), db = copyTo(be, randn(C, rng));
      const dout = copyTo(be, randn(N * C, rng));
      be.layerNormBackward(dx, dw, db, dout, x, w, mean, rstd, N, C);
      be.layerNormBackward(dx, dw, null, dout, x, w, mean, rstd, N, C);
      return [emb, dtable, out, mean, rstd, outNb, dx, dw, db];
    },
  });
}

for (const [B, T, C, H] of [[1, 1, 4, 1], [2, 5, 12, 3], [2, 17, 40, 2], [1, 70, 64, 4], [3, 64, 128, 4]]) {
  for (const dropout of [false, true]) {
    cases.push({
      name: `attention B=${B} T=${T} C=${C} H=${H} dropout=${dropout}`,
      run(be, rng) {
        const qkv = copyTo(be, randn(B * T * 3 * C, rng)), out = be.alloc(B * T * C), att = be.alloc(B * H * T * T);
        const mask = dropout ? copyTo(be, Float32Array.from({ length: B * H * T * T }, () => (rng.random() < 0.2 ? 0 : 1.25))) : null;
        be.attention(out, att, qkv, mask && { mask }, B, T, C, H);
        const dqkv = copyTo(be, randn(B * T * 3 * C, rng));
        be.attentionBackward(dqkv, copyTo(be, randn(B * T * C, rng)), out, qkv, att, mask && { mask }, B, T, C, H);
        // only j <= i of att is defined
        const causal = att.filter((_, i) => i % T <= Math.floor(i / T) % T);
        return [out, causal, dqkv];
      },
    });
  }
}

for (const [N, V] of [[1, 1], [9, 5], [40, 65], [33, 100]]) {
  cases.push({
    name: `softmax and crossEntropy N=${N} V=${V}`,
    run(be, rng) {
      const x = copyTo(be, randn(N * V, rng, 3)), out = be.alloc(N * V);
      be.softmax(out, x, N, V, 0.7);
      const loss = be.alloc(1), probs = be.alloc(N * V), targets = ids(N, V, rng, true);
      be.crossEntropy(loss, probs, x, targets, N, V);
      const dlogits = copyTo(be, randn(N * V, rng));
      be.crossEntropyBackward(dlogits, probs, targets, Float32Array.of(0.3), N, V);
      return [out, loss, probs, dlogits];
    },
  });
}

for (const n of [1, 19, 5000, 70003]) {
  cases.push({
    name: `adamw n=${n}`,
    run(be, rng) {
      const p = copyTo(be, randn(n, rng)), g = copyTo(be, randn(n, rng)), m = copyTo(be, randn(n, rng, 0.1));
      const v = copyTo(be, Float32Array.from(randn(n, rng, 0.1), (x) => x * x));
      be.adamw(p, g, m, v, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, 7, Float32Array.of(0.5));
      return [p, m, v];
    },
  });
}

function runCase(c: Case, be: CpuBackend): (Float32Array | number)[] {
  return c.run(be, new XoshiroRng(c.name.length * 7919 + 17));
}

function compare(c: Case, got: (Float32Array | number)[], want: (Float32Array | number)[], tol: number): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const w = want[i];
    if (typeof g === 'number') assertClose([g], [w as number], tol, `${c.name} output ${i}`);
    else assertClose(g, w as Float32Array, tol, `${c.name} output ${i}`);
  });
}

const isas = native ? ['avx512', 'avx2', 'generic'] : [];

describe('native kernels against the reference', { skip }, () => {
  const expected = new Map(cases.map((c) => [c.name, runCase(c, reference)]));
  const seen = new Set<string>();
  for (const isa of isas) {
    // a set the CPU lacks falls back to the best it has: run each distinct set once
    configureNative({ isa });
    const actual = nativeInfo().isa!;
    if (seen.has(actual)) continue;
    seen.add(actual);
    test(`instruction set ${actual}`, () => {
      configureNative({ isa: actual });
      for (const c of cases) compare(c, runCase(c, native!), expected.get(c.name)!, TOL);
    });
  }
  test('restore the default instruction set', () => configureNative({ isa: 'best' }));
});

describe('native results do not depend on the thread count', { skip }, () => {
  test('1, 2 and 3 threads give identical bits', () => {
    const before = nativeInfo().threads!;
    try {
      configureNative({ threads: 1 });
      const one = cases.map((c) => runCase(c, native!));
      for (const threads of [2, 3]) {
        configureNative({ threads });
        cases.forEach((c, i) => {
          const got = runCase(c, native!);
          got.forEach((g, j) => {
            const w = one[i][j];
            if (typeof g === 'number') assert.equal(g, w, `${c.name} output ${j} with ${threads} threads`);
            else assert.deepEqual(g, w, `${c.name} output ${j} with ${threads} threads`);
          });
        });
      }
    } finally {
      configureNative({ threads: before });
    }
  });
});

test('native backend rejects a short buffer instead of writing past it', { skip }, () => {
  const be = native!;
  assert.throws(() => be.matmul(be.alloc(5), be.alloc(6), be.alloc(6), 2, 3, 3, false, false, false), /too short/);
  assert.throws(() => be.embedding(be.alloc(4), be.alloc(4), Int32Array.of(2), 1, 4), /outside the table/);
});

test('native alloc hands back freed buffers zero-filled and 64-byte aligned', { skip }, () => {
  const be = native!;
  for (const n of [5, 1000, 70001, 300000]) {
    const a = be.alloc(n);
    const addon = (be as unknown as { k: { alignOffset(x: Float32Array): number } }).k;
    assert.equal(addon.alignOffset(a), 0, `a buffer of ${n} floats starts on a 64-byte boundary`);
    a.fill(3.5);
    be.free(a);
    const b = be.alloc(n);
    assert.equal(b, a, `a freed buffer of ${n} floats is reused`);
    assert.ok(b.every((x) => x === 0), `reused buffer of ${n} floats is zero`);
  }
});
