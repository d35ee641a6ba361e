// c[M,N] = (accumulate ? c : 0) + op(a)[M,K] @ op(b)[K,N], with SIMD128 micro-kernels.
//
// Every element of c is computed the same way whatever the shape, the path or the thread
// split: k runs in blocks of KC; within a block the products are added one after another in
// k order to a float32 accumulator starting at zero (mul then add, no FMA), and each block's
// sum is added to c (or stored, for the first block when not accumulating). So a row of c does
// not depend on M, nor on how many threads shared the work.

/** k block: a 4 x KC slice of a (16 KB, splatted) and an 8-column panel of b (8 KB) stay in L1. */
export const KC: i32 = 256;

// Pointers are byte offsets; a(i, k) is at a + 4 * (i * sai + k * sak).

/**
 * The 4 rows i0..i0+3 of op(a), k0..k0+kc-1, as ap[kk][4 rows][4 lanes]: each value already
 * splatted across a vector, so the micro-kernel reads it with a plain load (V8 folds the offset
 * of a plain load into the address; of a load-and-splat it does not). Rows past M are zeros.
 */
function packA(ap: usize, a: usize, M: i32, K: i32, transA: bool, i0: i32, k0: i32, kc: i32): void {
  const rows = min(4, M - i0);
  if (rows == 4 && transA) {
    // a is [K, M]: the 4 values for one k are adjacent
    for (let kk = 0; kk < kc; kk++) {
      const s = a + ((<usize>(k0 + kk) * M + i0) << 2), d = ap + (<usize>kk << 6);
      v128.store(d, v128.load32_splat(s));
      v128.store(d, v128.load32_splat(s + 4), 16);
      v128.store(d, v128.load32_splat(s + 8), 32);
      v128.store(d, v128.load32_splat(s + 12), 48);
    }
    return;
  }
  if (rows == 4) {
    // a is [M, K]: four row streams
    const r0 = a + ((<usize>i0 * K + k0) << 2), ld = <usize>K << 2;
    for (let kk = 0; kk < kc; kk++) {
      const s = r0 + (<usize>kk << 2), d = ap + (<usize>kk << 6);
      v128.store(d, v128.load32_splat(s));
      v128.store(d, v128.load32_splat(s + ld), 16);
      v128.store(d, v128.load32_splat(s + 2 * ld), 32);
      v128.store(d, v128.load32_splat(s + 3 * ld), 48);
    }
    return;
  }
  for (let kk = 0; kk < kc; kk++) {
    for (let r = 0; r < 4; r++) {
      let v: f32 = 0;
      if (r < rows) {
        const i = i0 + r, k = k0 + kk;
        v = transA ? load<f32>(a + ((<usize>k * M + i) << 2)) : load<f32>(a + ((<usize>i * K + k) << 2));
      }
      v128.store(ap + (<usize>(kk * 4 + r) << 4), f32x4.splat(v));
    }
  }
}

/** Panels p0..p1-1 of op(b) (8 columns each, k0..k0+kc-1) as bp[p - p0][kk][8]; columns past N are zeros. */
function packB(bp: usize, b: usize, N: i32, K: i32, transB: bool, p0: i32, p1: i32, k0: i32, kc: i32): void {
  for (let p = p0; p < p1; p++) {
    const d = bp + (<usize>(p - p0) * kc << 5);
    const j0 = p * 8, w = min(8, N - j0);
    let kk = 0;
    if (w == 8 && !transB) {
      // b is [K, N]: a panel row is 8 adjacent values
      for (; kk < kc; kk++) {
        const s = b + ((<usize>(k0 + kk) * N + j0) << 2);
        v128.store(d + (<usize>kk << 5), v128.load(s));
        v128.store(d + (<usize>kk << 5), v128.load(s, 16), 16);
      }
    } else if (w == 8) {
      // b is [N, K]: transpose 4 x 4 tiles of rows j0..j0+3 and j0+4..j0+7
      const ld = <usize>K << 2;
      for (; kk + 4 <= kc; kk += 4) {
        for (let half = 0; half < 2; half++) {
          const r0 = b + ((<usize>(j0 + half * 4) * K + k0 + kk) << 2);
          const x0 = v128.load(r0), x1 = v128.load(r0 + ld), x2 = v128.load(r0 + 2 * ld), x3 = v128.load(r0 + 3 * ld);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const o = d + (<usize>kk << 5) + (<usize>half << 4);
          v128.store(o, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(o, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
          v128.store(o, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
          v128.store(o, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
        }
      }
    }
    for (; kk < kc; kk++) {
      const k = k0 + kk;
      for (let j = 0; j < 8; j++) {
        let v: f32 = 0;
        if (j < w) v = transB ? load<f32>(b + ((<usize>(j0 + j) * K + k) << 2)) : load<f32>(b + ((<usize>k * N + j0 + j) << 2));
        store<f32>(d + (<usize>(kk * 8 + j) << 2), v);
      }
    }
  }
}

/** Adds (or, when first, stores) one finished 4 x 8 block into c, keeping only rows < rows, cols < cols. */
@inline function storeBlock(c: usize, N: i32, rows: i32, cols: i32, first: bool, tmp: usize,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  const ld = <usize>N << 2;
  if (rows == 4 && cols == 8) {
    if (!first) {
      c00 = f32x4.add(v128.load(c), c00); c01 = f32x4.add(v128.load(c, 16), c01);
      c10 = f32x4.add(v128.load(c + ld), c10); c11 = f32x4.add(v128.load(c + ld, 16), c11);
      c20 = f32x4.add(v128.load(c + 2 * ld), c20); c21 = f32x4.add(v128.load(c + 2 * ld, 16), c21);
      c30 = f32x4.add(v128.load(c + 3 * ld), c30); c31 = f32x4.add(v128.load(c + 3 * ld, 16), c31);
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + ld, c10); v128.store(c + ld, c11, 16);
    v128.store(c + 2 * ld, c20); v128.store(c + 2 * ld, c21, 16);
    v128.store(c + 3 * ld, c30); v128.store(c + 3 * ld, c31, 16);
    return;
  }
  v128.store(tmp, c00); v128.store(tmp, c01, 16); v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64); v128.store(tmp, c21, 80); v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const o = c + <usize>r * ld + (<usize>j << 2);
      const v = load<f32>(tmp + (<usize>(r * 8 + j) << 2));
      store<f32>(o, first ? v : load<f32>(o) + v);
    }
  }
}

/** The 4 x 8 micro-kernel over one k block: packed ap[kc][4][4] times one packed panel bp[kc][8]. */
function microKernel(ap: usize, bp: usize, kc: i32, c: usize, N: i32, rows: i32, cols: i32, first: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const bEnd = bp + (<usize>kc << 5);
  while (bp < bEnd) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let x = v128.load(ap);
    c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load(ap, 16);
    c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load(ap, 32);
    c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load(ap, 48);
    c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1));
    bp += 32; ap += 64;
  }
  storeBlock(c, N, rows, cols, first, tmp, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** Scratch bytes one part needs: its packed panels, a packed row block, a 4 x 8 spill area. */
export function matmulScratchBytes(M: i32, N: i32, K: i32): i32 {
  const kc = min(KC, K), np = (N + 7) >> 3;
  return (kc * 8 * np + kc * 16 + 32) * 4 + 64;
}

/**
 * The part-th of nparts shares of the product, computed by thread `thread` (whose scratch is
 * scratch + thread * scratchStride). Parts own disjoint blocks of c: bands of rows, each packing
 * all of op(b), when there are more rows than columns, else bands of column panels, each packing
 * all of op(a) (the band that repacks less).
 */
export function matmul(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32, transA: i32, transB: i32,
  accumulate: i32, scratch: usize, scratchStride: usize, part: i32, nparts: i32, thread: i32): void {
  if (M < 4) {
    gemv(c, a, b, M, N, K, transA != 0, transB != 0, accumulate != 0, part, nparts);
    return;
  }
  const np = (N + 7) >> 3, nrb = (M + 3) >> 2;
  let p0 = 0, p1 = np, rb0 = 0, rb1 = nrb;
  if ((M > N && nrb >= nparts) || np < nparts) {
    rb0 = <i32>((<i64>nrb * part) / nparts); rb1 = <i32>((<i64>nrb * (part + 1)) / nparts);
  } else {
    p0 = <i32>((<i64>np * part) / nparts); p1 = <i32>((<i64>np * (part + 1)) / nparts);
  }
  if (p0 >= p1 || rb0 >= rb1) return;
  const base = (scratch + <usize>thread * scratchStride + 63) & ~(<usize>63);
  const kcMax = min(KC, K);
  const bp = base, ap = bp + (<usize>kcMax * 8 * (p1 - p0) << 2), tmp = ap + (<usize>kcMax << 6);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const first = k0 == 0 && accumulate == 0;
    packB(bp, b, N, K, transB != 0, p0, p1, k0, kc);
    for (let rb = rb0; rb < rb1; rb++) {
      const i0 = rb * 4, rows = min(4, M - i0);
      packA(ap, a, M, K, transA != 0, i0, k0, kc);
      for (let p = p0; p < p1; p++) {
        const j0 = p * 8;
        microKernel(ap, bp + (<usize>(p - p0) * kc << 5), kc, c + ((<usize>i0 * N + j0) << 2), N, rows, min(8, N - j0), first, tmp);
      }
    }
  }
}

/**
 * Fewer than 4 rows (sampling one token): no packing, 4 columns at a time, with the same
 * per-element order of operations as the micro-kernel.
 */
function gemv(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32, transA: bool, transB: bool, accumulate: bool,
  part: i32, nparts: i32): void {
  const nq = (N + 3) >> 2;
  const q0 = <i32>((<i64>nq * part) / nparts), q1 = <i32>((<i64>nq * (part + 1)) / nparts);
  const sai: usize = transA ? 1 : <usize>K, sak: usize = transA ? <usize>M : 1;
  for (let i = 0; i < M; i++) {
    const ai = a + (<usize>i * sai << 2);
    for (let q = q0; q < q1; q++) {
      const j0 = q * 4, w = min(4, N - j0);
      const co = c + ((<usize>i * N + j0) << 2);
      for (let k0 = 0; k0 < K; k0 += KC) {
        const k1 = min(K, k0 + KC);
        const first = k0 == 0 && !accumulate;
        let acc = f32x4.splat(0);
        for (let k = k0; k < k1; k++) {
          const x = v128.load32_splat(ai + (<usize>k * sak << 2));
          let bv: v128;
          if (transB) {
            // b is [N, K]: gather column k of rows j0..j0+w-1
            const bk = b + ((<usize>j0 * K + k) << 2), ld = <usize>K << 2;
            bv = f32x4.splat(0);
            bv = f32x4.replace_lane(bv, 0, load<f32>(bk));
            if (w > 1) bv = f32x4.replace_lane(bv, 1, load<f32>(bk + ld));
            if (w > 2) bv = f32x4.replace_lane(bv, 2, load<f32>(bk + 2 * ld));
            if (w > 3) bv = f32x4.replace_lane(bv, 3, load<f32>(bk + 3 * ld));
          } else if (w == 4) {
            bv = v128.load(b + ((<usize>k * N + j0) << 2));
          } else {
            const bk = b + ((<usize>k * N + j0) << 2);
            bv = f32x4.splat(0);
            bv = f32x4.replace_lane(bv, 0, load<f32>(bk));
            if (w > 1) bv = f32x4.replace_lane(bv, 1, load<f32>(bk, 4));
            if (w > 2) bv = f32x4.replace_lane(bv, 2, load<f32>(bk, 8));
          }
          acc = f32x4.add(acc, f32x4.mul(x, bv));
        }
        if (w == 4) {
          v128.store(co, first ? acc : f32x4.add(v128.load(co), acc));
        } else {
          const v0 = f32x4.extract_lane(acc, 0), v1 = f32x4.extract_lane(acc, 1), v2 = f32x4.extract_lane(acc, 2);
          store<f32>(co, first ? v0 : load<f32>(co) + v0);
          if (w > 1) store<f32>(co, first ? v1 : load<f32>(co, 4) + v1, 4);
          if (w > 2) store<f32>(co, first ? v2 : load<f32>(co, 8) + v2, 8);
        }
      }
    }
  }
}
