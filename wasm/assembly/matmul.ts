// c[M,N] = (accumulate ? c : 0) + op(a)[M,K] @ op(b)[K,N], with SIMD128 micro-kernels.
//
// Every element of c is computed the same way whatever the shape, the path or the thread
// split: k runs in blocks of KC; within a block the products are added one after another in
// k order to a float32 accumulator starting at zero (mul then add, no FMA), and each block's
// sum is added to c (or stored, for the first block when not accumulating). So a row of c does
// not depend on M, nor on how many threads shared the work.

import { microKernel, packA4, packB8 } from './tile';

/** k block: a 4 x KC slice of a (16 KB, splatted) and an 8-column panel of b (8 KB) stay in L1. */
export const KC: i32 = 256;

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
    for (let p = p0; p < p1; p++) {
      packB8(bp + (<usize>(p - p0) * kc << 5), b, transB ? K : N, transB != 0, p * 8, min(8, N - p * 8), k0, kc);
    }
    for (let rb = rb0; rb < rb1; rb++) {
      const i0 = rb * 4, rows = min(4, M - i0);
      packA4(ap, a, transA ? M : K, transA != 0, i0, rows, k0, kc);
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
