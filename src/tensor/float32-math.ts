/**
 * Float32 arithmetic that reproduces, bit for bit, what PyTorch's AVX2 CPU kernels compute for
 * `normal_` on float32 tensors of 16 or more elements: the Cephes-style polynomial log and
 * sin/cos of avx_mathfun.h, evaluated in float32, with the multiply-adds that GCC fuses into FMA
 * instructions when it builds that kernel for AVX2 (found by comparing with PyTorch's output).
 */

const f32 = Math.fround;
const bits = new DataView(new ArrayBuffer(4));

function floatBits(x: number): number {
  bits.setFloat32(0, x);
  return bits.getUint32(0);
}

function bitsFloat(u: number): number {
  bits.setUint32(0, u >>> 0);
  return bits.getFloat32(0);
}

/**
 * a * b + c rounded once to float32 (a fused multiply-add), for float32 a, b, c. The product is
 * exact in a double; the sum is rounded to a double first, which matters only when it lands
 * exactly halfway between two floats: then the sign of the lost part decides.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  const other = 2 * s - r;
  if (f32(other) !== other) return r; // not a tie between two floats
  const bp = s - p;
  const err = (p - (s - bp)) + (c - bp); // what the double sum lost
  if (err === 0) return r;
  // the exact sum lies beyond the tie on the side of err
  return (err > 0) === (other > r) ? other : r;
}

// Cephes constants, as float32 (avx_mathfun.h)
const SQRTHF = f32(0.707106781186547524);
const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f32);
const LOG_Q1 = f32(-2.12194440e-4);
const LOG_Q2 = f32(0.693359375);
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const FOUR_OVER_PI = f32(1.27323954473516);

/** Natural log of a float32 x > 0, as log256_ps computes it. */
export function cephesLogf(x: number): number {
  if (!(x > 0)) return NaN;
  const xb = floatBits(Math.max(x, 1.1754943508222875e-38));
  let e = f32(((xb >>> 23) - 0x7f) + 1);
  // mantissa in [0.5, 1)
  let m = bitsFloat((xb & ~0x7f800000) | 0x3f000000);
  if (m < SQRTHF) {
    e = f32(e - 1);
    m = f32(f32(m - 1) + m);
  } else {
    m = f32(m - 1);
  }
  const z = f32(m * m);
  let y = LOG_P[0];
  for (let k = 1; k < LOG_P.length; k++) y = fmaf(y, m, LOG_P[k]);
  y = f32(y * m);
  y = fmaf(y, z, f32(e * LOG_Q1));
  y = fmaf(-z, 0.5, y);
  return fmaf(e, LOG_Q2, f32(m + y));
}

/** [sin x, cos x] of a float32 x >= 0 (below 8192), as sincos256_ps computes them. */
export function cephesSinCosf(x: number): [number, number] {
  const ax = Math.abs(x);
  let j = Math.trunc(f32(ax * FOUR_OVER_PI));
  j = (j + 1) & ~1;
  const yj = f32(j);
  const sinSwap = (j & 4) !== 0;
  const cosSwap = ((j - 2) & 4) === 0;
  const polyIsSin = (j & 2) === 0; // sine gets the sine polynomial here, cosine the other
  let r = fmaf(yj, DP1, ax);
  r = fmaf(yj, DP2, r);
  r = fmaf(yj, DP3, r);
  const z = f32(r * r);
  let c = fmaf(COS_P[0], z, COS_P[1]);
  c = fmaf(c, z, COS_P[2]);
  c = f32(c * z);
  c = fmaf(c, z, -f32(z * 0.5));
  c = f32(c + 1);
  let s = fmaf(SIN_P[0], z, SIN_P[1]);
  s = fmaf(s, z, SIN_P[2]);
  s = f32(s * z);
  s = fmaf(s, r, r);
  let sin = polyIsSin ? s : c;
  let cos = polyIsSin ? c : s;
  if (sinSwap !== (x < 0)) sin = -sin;
  if (cosSwap) cos = -cos;
  return [sin, cos];
}
