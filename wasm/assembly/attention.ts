// Causal self-attention forward and backward from the fused qkv [B, T, 3C] layout, as small
// products on the 4 x 8 tile of tile.ts. Work is split by (batch, head) pairs: the part-th of
// nparts, on thread `thread` (scratch + thread * stride). Query rows go 4 at a time and only the
// key panels a block can see are computed (the masked half is skipped, but for the diagonal
// tiles); att is written and read only where j <= i.
import { hmax, hsum, sexp, vexp } from './vmath';
import { microKernel, packA4, packB8 } from './tile';

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

@inline function round(n: i32, m: i32): i32 {
  return (n + m - 1) / m * m;
}

// Scratch layout in floats (globals: each thread has its own instance; no allocation, since
// JavaScript owns the heap): scores / dP / dS [T4][T8]; panels of K^T or K, of V or V^T, of Q, of
// dO; a packed A operand; a spill tile.
let HS = 0, L_KPAN = 0, L_VPAN = 0, L_QPAN = 0, L_DPAN = 0, L_APACK = 0, L_TMP = 0, L_TOTAL = 0;

function layout(T: i32, C: i32, H: i32): void {
  const hs = C / H, T4 = round(T, 4), T8 = round(T, 8), h8 = round(hs, 8);
  HS = hs;
  L_KPAN = T4 * T8;
  L_VPAN = L_KPAN + max(T8 * hs, h8 * T);
  L_QPAN = L_VPAN + max(T8 * hs, h8 * T);
  L_DPAN = L_QPAN + h8 * T;
  L_APACK = L_DPAN + h8 * T;
  L_TMP = L_APACK + 16 * max(T4, hs);
  L_TOTAL = L_TMP + 32;
}

/** Scratch bytes one thread needs. */
export function attentionScratchBytes(T: i32, C: i32, H: i32): i32 {
  layout(T, C, H);
  return L_TOTAL * 4 + 64;
}

/** Panels of 8 columns of the [n][ld] rows at src (k = row), columns 0..cols-1, as dst[p][n][8]. */
function panels(dst: usize, src: usize, ld: i32, n: i32, cols: i32, trans: bool): void {
  for (let p = 0; p * 8 < cols; p++) packB8(dst + (<usize>p * n << 5), src, ld, trans, p * 8, min(8, cols - p * 8), 0, n);
}

/**
 * Softmax of row t of the scores (keys 0..t, scaled), into att; also into s itself times the
 * dropout mask (the probabilities the product with V uses), zeros after t up to `upto`.
 */
function softmaxRow(s: usize, arow: usize, mrow: usize, t: i32, upto: i32, scale: f32): void {
  const nk = t + 1, vsc = f32x4.splat(scale);
  let vmax = f32x4.splat(-Infinity), j = 0;
  for (; j + 4 <= nk; j += 4) vmax = f32x4.pmax(vmax, v128.load(at(s, j)));
  let mx = hmax(vmax);
  for (; j < nk; j++) mx = max(mx, load<f32>(at(s, j)));
  const vm = f32x4.splat(mx);
  let vsum = f32x4.splat(0);
  for (j = 0; j + 4 <= nk; j += 4) {
    const e = vexp(f32x4.mul(f32x4.sub(v128.load(at(s, j)), vm), vsc));
    v128.store(at(s, j), e);
    vsum = f32x4.add(vsum, e);
  }
  let sum = hsum(vsum);
  for (; j < nk; j++) {
    const e = sexp((load<f32>(at(s, j)) - mx) * scale);
    store<f32>(at(s, j), e);
    sum += e;
  }
  const vs = f32x4.splat(sum);
  for (j = 0; j + 4 <= nk; j += 4) {
    const p = f32x4.div(v128.load(at(s, j)), vs);
    v128.store(at(arow, j), p);
    v128.store(at(s, j), mrow ? f32x4.mul(p, v128.load(at(mrow, j))) : p);
  }
  for (; j < nk; j++) {
    const p = load<f32>(at(s, j)) / sum;
    store<f32>(at(arow, j), p);
    store<f32>(at(s, j), mrow ? p * load<f32>(at(mrow, j)) : p);
  }
  for (; j < upto; j++) store<f32>(at(s, j), 0);
}

export function attention(out: usize, att: usize, qkv: usize, mask: usize, B: i32, T: i32, C: i32, H: i32,
  scratch: usize, stride: usize, part: i32, nparts: i32, thread: i32): void {
  layout(T, C, H);
  const hs = HS, C3 = 3 * C, T8 = round(T, 8);
  // the scores are scaled inside the softmax: (q . k) * scale, as the reference computes them
  const scale = <f32>(1 / Math.sqrt(<f64>hs));
  const units = B * H;
  const u0 = <i32>((<i64>units * part) / nparts), u1 = <i32>((<i64>units * (part + 1)) / nparts);
  const base = (scratch + <usize>thread * stride + 63) & ~(<usize>63);
  const S = base, kpan = at(base, L_KPAN), vpan = at(base, L_VPAN), ap = at(base, L_APACK), tmp = at(base, L_TMP);
  for (let u = u0; u < u1; u++) {
    const b = u / H, h = u % H;
    const head = qkv + ((<usize>b * T * C3 + <usize>h * hs) << 2);
    panels(kpan, at(head, C), C3, hs, T, true); // K^T: [T8 / 8][hs][8]
    panels(vpan, at(head, 2 * C), C3, T, hs, false); // V: [h8 / 8][T][8]
    for (let i0 = 0; i0 < T; i0 += 4) {
      const rows = min(4, T - i0), kc = min(i0 + 4, T);
      // S[i0..i0+3][0..kc) = Q K^T over the key panels these rows can see
      packA4(ap, head, C3, false, i0, rows, 0, hs);
      for (let p = 0; p * 8 < kc; p++) {
        microKernel(ap, kpan + (<usize>p * hs << 5), hs, at(S, i0 * T8 + p * 8), T8, rows, min(8, T - p * 8), true, tmp);
      }
      for (let r = 0; r < rows; r++) {
        const t = i0 + r, a = (u * T + t) * T;
        softmaxRow(at(S, t * T8), at(att, a), mask ? at(mask, a) : 0, t, kc, scale);
      }
      // out rows = P (keys 0..kc) @ V
      packA4(ap, S, T8, false, i0, rows, 0, kc);
      for (let p = 0; p * 8 < hs; p++) {
        microKernel(ap, vpan + (<usize>p * T << 5), kc, out + ((<usize>(b * T + i0) * C + h * hs + p * 8) << 2), C, rows,
          min(8, hs - p * 8), true, tmp);
      }
    }
  }
}

/**
 * P^T times the mask for keys j0..j0+3 (rows of the result) and queries t = j0..T-1 (its k), as
 * packed A: ap[t - j0][4][4]; zero where t < key.
 */
function packPT(ap: usize, att: usize, mask: usize, a0: i32, T: i32, j0: i32, keys: i32): void {
  let d = ap;
  for (let t = j0; t < T; t++) {
    const row = a0 + t * T;
    for (let r = 0; r < 4; r++) {
      const key = j0 + r;
      let v: f32 = 0;
      if (r < keys && key <= t) {
        v = load<f32>(at(att, row + key));
        if (mask) v *= load<f32>(at(mask, row + key));
      }
      v128.store(d + (<usize>r << 4), f32x4.splat(v));
    }
    d += 64;
  }
}

export function attentionBackward(dqkv: usize, dout: usize, qkv: usize, att: usize, mask: usize, B: i32, T: i32, C: i32,
  H: i32, scratch: usize, stride: usize, part: i32, nparts: i32, thread: i32): void {
  layout(T, C, H);
  const hs = HS, C3 = 3 * C, T8 = round(T, 8);
  const scale = <f32>(1 / Math.sqrt(<f64>hs));
  const units = B * H;
  const u0 = <i32>((<i64>units * part) / nparts), u1 = <i32>((<i64>units * (part + 1)) / nparts);
  const base = (scratch + <usize>thread * stride + 63) & ~(<usize>63);
  const D = base, kpan = at(base, L_KPAN), vpan = at(base, L_VPAN), qpan = at(base, L_QPAN), dpan = at(base, L_DPAN);
  const ap = at(base, L_APACK), tmp = at(base, L_TMP);
  for (let u = u0; u < u1; u++) {
    const b = u / H, h = u % H;
    const head = qkv + ((<usize>b * T * C3 + <usize>h * hs) << 2);
    const dhead = dqkv + ((<usize>b * T * C3 + <usize>h * hs) << 2);
    const dO = dout + ((<usize>b * T * C + <usize>h * hs) << 2);
    panels(vpan, at(head, 2 * C), C3, hs, T, true); // V^T: [T8 / 8][hs][8]
    panels(kpan, at(head, C), C3, T, hs, false); // K: [h8 / 8][T][8]
    panels(qpan, head, C3, T, hs, false); // Q: [h8 / 8][T][8]
    panels(dpan, dO, C, T, hs, false); // dO: [h8 / 8][T][8]
    // rows: dP = dO V^T, dS = P (dP mask - sum(P dP mask)) scale into D, dQ += dS K
    for (let i0 = 0; i0 < T; i0 += 4) {
      const rows = min(4, T - i0), kc = min(i0 + 4, T);
      packA4(ap, dO, C, false, i0, rows, 0, hs);
      for (let p = 0; p * 8 < kc; p++) {
        microKernel(ap, vpan + (<usize>p * hs << 5), hs, at(D, i0 * T8 + p * 8), T8, rows, min(8, T - p * 8), true, tmp);
      }
      for (let r = 0; r < rows; r++) {
        const t = i0 + r, nk = t + 1, a = (u * T + t) * T;
        const drow = at(D, t * T8), arow = at(att, a), mrow = mask ? at(mask, a) : 0;
        let vdot = f32x4.splat(0), j = 0;
        for (; j + 4 <= nk; j += 4) {
          let dp = v128.load(at(drow, j));
          if (mask) dp = f32x4.mul(dp, v128.load(at(mrow, j)));
          v128.store(at(drow, j), dp);
          vdot = f32x4.add(vdot, f32x4.mul(v128.load(at(arow, j)), dp));
        }
        let dot = hsum(vdot);
        for (; j < nk; j++) {
          let dp = load<f32>(at(drow, j));
          if (mask) dp *= load<f32>(at(mrow, j));
          store<f32>(at(drow, j), dp);
          dot += load<f32>(at(arow, j)) * dp;
        }
        const vd = f32x4.splat(dot), vsc = f32x4.splat(scale);
        for (j = 0; j + 4 <= nk; j += 4) {
          v128.store(at(drow, j), f32x4.mul(f32x4.mul(v128.load(at(arow, j)), f32x4.sub(v128.load(at(drow, j)), vd)), vsc));
        }
        for (; j < nk; j++) store<f32>(at(drow, j), load<f32>(at(arow, j)) * (load<f32>(at(drow, j)) - dot) * scale);
        for (; j < kc; j++) store<f32>(at(drow, j), 0);
      }
      packA4(ap, D, T8, false, i0, rows, 0, kc);
      for (let p = 0; p * 8 < hs; p++) {
        microKernel(ap, kpan + (<usize>p * T << 5), kc, at(dhead, i0 * C3 + p * 8), C3, rows, min(8, hs - p * 8), false, tmp);
      }
    }
    // columns: dK[j] += sum over t >= j of dS[t][j] Q[t]; dV[j] += sum of P[t][j] mask[t][j] dO[t]
    for (let j0 = 0; j0 < T; j0 += 4) {
      const keys = min(4, T - j0), n = T - j0;
      // rows t of D below the diagonal tile are complete; in it, entries past t are zeros
      packA4(ap, D, T8, true, j0, keys, j0, n);
      for (let p = 0; p * 8 < hs; p++) {
        microKernel(ap, qpan + ((<usize>p * T + j0) << 5), n, at(dhead, j0 * C3 + C + p * 8), C3, keys, min(8, hs - p * 8), false, tmp);
      }
      packPT(ap, att, mask, u * T * T, T, j0, keys);
      for (let p = 0; p * 8 < hs; p++) {
        microKernel(ap, dpan + ((<usize>p * T + j0) << 5), n, at(dhead, j0 * C3 + 2 * C + p * 8), C3, keys, min(8, hs - p * 8), false, tmp);
      }
    }
  }
}
