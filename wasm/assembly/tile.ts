// The 4 x 8 register tile every product is built from (matmul, attention): operands packed so
// the inner loop is 6 plain loads and 8 multiplies + 8 adds per k, results added to (or stored
// in) a row-major block. Pointers are byte offsets.

/**
 * Rows i0..i0+rows-1 (rows <= 4) of a, k0..k0+kc-1, as ap[kk][4 rows][4 lanes]: each value
 * splatted across a vector, so the tile reads it with a plain load (V8 folds the offset of a
 * plain load into the address; of a load-and-splat it does not). Missing rows are zeros.
 * Element (i, k) of a is at a[i * lda + k], or at a[k * lda + i] when trans.
 */
export function packA4(ap: usize, a: usize, lda: i32, trans: bool, i0: i32, rows: i32, k0: i32, kc: i32): void {
  const ld = <usize>lda << 2;
  if (rows == 4 && trans) {
    // the 4 values for one k are adjacent
    let s = a + ((<usize>k0 * lda + i0) << 2), d = ap;
    for (let kk = 0; kk < kc; kk++) {
      v128.store(d, v128.load32_splat(s));
      v128.store(d, v128.load32_splat(s + 4), 16);
      v128.store(d, v128.load32_splat(s + 8), 32);
      v128.store(d, v128.load32_splat(s + 12), 48);
      s += ld;
      d += 64;
    }
    return;
  }
  if (rows == 4) {
    // four row streams
    let s = a + ((<usize>i0 * lda + k0) << 2), d = ap;
    for (let kk = 0; kk < kc; kk++) {
      v128.store(d, v128.load32_splat(s));
      v128.store(d, v128.load32_splat(s + ld), 16);
      v128.store(d, v128.load32_splat(s + 2 * ld), 32);
      v128.store(d, v128.load32_splat(s + 3 * ld), 48);
      s += 4;
      d += 64;
    }
    return;
  }
  for (let kk = 0; kk < kc; kk++) {
    for (let r = 0; r < 4; r++) {
      let v: f32 = 0;
      if (r < rows) {
        const i = i0 + r, k = k0 + kk;
        v = trans ? load<f32>(a + ((<usize>k * lda + i) << 2)) : load<f32>(a + ((<usize>i * lda + k) << 2));
      }
      v128.store(ap + (<usize>(kk * 4 + r) << 4), f32x4.splat(v));
    }
  }
}

/**
 * Columns j0..j0+cols-1 (cols <= 8) of b, k0..k0+kc-1, as one panel bp[kk][8]; missing columns
 * are zeros. Element (k, j) of b is at b[k * ldb + j], or at b[j * ldb + k] when trans.
 */
export function packB8(bp: usize, b: usize, ldb: i32, trans: bool, j0: i32, cols: i32, k0: i32, kc: i32): void {
  const ld = <usize>ldb << 2;
  let kk = 0;
  if (cols == 8 && !trans) {
    // a panel row is 8 adjacent values
    let s = b + ((<usize>k0 * ldb + j0) << 2), d = bp;
    for (; kk < kc; kk++) {
      v128.store(d, v128.load(s));
      v128.store(d, v128.load(s, 16), 16);
      s += ld;
      d += 32;
    }
    return;
  }
  if (cols == 8) {
    // transpose 4 x 4 tiles of columns j0..j0+3 and j0+4..j0+7
    for (; kk + 4 <= kc; kk += 4) {
      for (let half = 0; half < 2; half++) {
        const r0 = b + ((<usize>(j0 + half * 4) * ldb + k0 + kk) << 2);
        const x0 = v128.load(r0), x1 = v128.load(r0 + ld), x2 = v128.load(r0 + 2 * ld), x3 = v128.load(r0 + 3 * ld);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        const o = bp + (<usize>kk << 5) + (<usize>half << 4);
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
      if (j < cols) v = trans ? load<f32>(b + ((<usize>(j0 + j) * ldb + k) << 2)) : load<f32>(b + ((<usize>k * ldb + j0 + j) << 2));
      store<f32>(bp + (<usize>(kk * 8 + j) << 2), v);
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
export function microKernel(ap: usize, bp: usize, kc: i32, c: usize, N: i32, rows: i32, cols: i32, first: bool, tmp: usize): void {
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

