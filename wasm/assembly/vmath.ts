// Four-lane float32 exp, erf, tanh and horizontal sums, accurate to a few float32 ulps.

// Vector constants live in a table in memory: V8 does not hoist a constant out of a loop, it
// rebuilds it each iteration with three instructions; a load from the table is one.
const F32_TABLE: usize = memory.data<f32>([
  -87.3365478515625, -87.3365478515625, -87.3365478515625, -87.3365478515625,
  88.3762626647949, 88.3762626647949, 88.3762626647949, 88.3762626647949,
  12582912.0, 12582912.0, 12582912.0, 12582912.0,
  1.44269504, 1.44269504, 1.44269504, 1.44269504,
  0.693359375, 0.693359375, 0.693359375, 0.693359375,
  2.12194440e-4, 2.12194440e-4, 2.12194440e-4, 2.12194440e-4,
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4,
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3,
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3,
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2,
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1,
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1,
  1.0, 1.0, 1.0, 1.0,
  0.0000430638, 0.0000430638, 0.0000430638, 0.0000430638,
  0.0002765672, 0.0002765672, 0.0002765672, 0.0002765672,
  0.0001520143, 0.0001520143, 0.0001520143, 0.0001520143,
  0.0092705272, 0.0092705272, 0.0092705272, 0.0092705272,
  0.0422820123, 0.0422820123, 0.0422820123, 0.0422820123,
  0.0705230784, 0.0705230784, 0.0705230784, 0.0705230784,
  0.5, 0.5, 0.5, 0.5,
  -0.5, -0.5, -0.5, -0.5,
  2.0, 2.0, 2.0, 2.0,
  0.70710678, 0.70710678, 0.70710678, 0.70710678,
  0.3989422804014327, 0.3989422804014327, 0.3989422804014327, 0.3989422804014327,
  0.7978845608028654, 0.7978845608028654, 0.7978845608028654, 0.7978845608028654,
  0.044715, 0.044715, 0.044715, 0.044715,
  0.134145, 0.134145, 0.134145, 0.134145,
], 16);
const I32_TABLE: usize = memory.data<i32>([
  127, 127, 127, 127,
  0x80000000, 0x80000000, 0x80000000, 0x80000000,
], 16);

export const EXP_LO = 0;
export const EXP_HI = 1;
export const MAGIC = 2;
export const LOG2E = 3;
export const LN2_HI = 4;
export const LN2_LO = 5;
export const EXP_P0 = 6;
export const EXP_P1 = 7;
export const EXP_P2 = 8;
export const EXP_P3 = 9;
export const EXP_P4 = 10;
export const EXP_P5 = 11;
export const ONE = 12;
export const ERF_A6 = 13;
export const ERF_A5 = 14;
export const ERF_A4 = 15;
export const ERF_A3 = 16;
export const ERF_A2 = 17;
export const ERF_A1 = 18;
export const HALF = 19;
export const MINUS_HALF = 20;
export const TWO = 21;
export const SQRT1_2 = 22;
export const INV_SQRT_2PI = 23;
export const GELU_TANH_C = 24;
export const GELU_TANH_K = 25;
export const GELU_TANH_3K = 26;
export const EXP_BIAS = 27;
export const SIGN = 28;

/** The constant `i` of the table, splatted. */
@inline export function kv(i: i32): v128 {
  return i < 27 ? v128.load(F32_TABLE + (<usize>i << 4)) : v128.load(I32_TABLE + (<usize>(i - 27) << 4));
}

/**
 * e^x per lane: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-7 polynomial (Cephes' expf
 * coefficients). Rounding to n by adding 1.5 * 2^23 (the integer lands in the low mantissa
 * bits), and pmin / pmax rather than min / max: both are single x86 instructions, while the
 * NaN-exact f32x4.min / nearest / trunc_sat each take several.
 */
@inline export function vexp(x: v128): v128 {
  const lo = kv(EXP_LO), hi = kv(EXP_HI);
  const magic = kv(MAGIC);
  const under = f32x4.lt(x, lo);
  x = f32x4.pmin(f32x4.pmax(x, lo), hi);
  const t = f32x4.add(f32x4.mul(x, kv(LOG2E)), magic);
  const n = f32x4.sub(t, magic);
  // ln 2 in two parts so n * ln2hi is exact
  let r = f32x4.sub(x, f32x4.mul(n, kv(LN2_HI)));
  r = f32x4.add(r, f32x4.mul(n, kv(LN2_LO)));
  let p = kv(EXP_P0);
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P1));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P2));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P3));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P4));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P5));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), kv(ONE));
  // 2^n from the exponent bits: n is in [-126, 127] after the clamp
  const ni = i32x4.sub(t, magic);
  const scale = i32x4.shl(i32x4.add(ni, kv(EXP_BIAS)), 23);
  return v128.andnot(f32x4.mul(p, scale), under);
}

/**
 * erf per lane, Abramowitz and Stegun 7.1.28: 1 - 1 / (1 + a1 z + ... + a6 z^6)^16 for z >= 0
 * (absolute error below 3e-7), no exp needed.
 */
@inline export function verf(x: v128): v128 {
  const z = f32x4.abs(x);
  let p = kv(ERF_A6);
  p = f32x4.add(f32x4.mul(p, z), kv(ERF_A5));
  p = f32x4.add(f32x4.mul(p, z), kv(ERF_A4));
  p = f32x4.add(f32x4.mul(p, z), kv(ERF_A3));
  p = f32x4.add(f32x4.mul(p, z), kv(ERF_A2));
  p = f32x4.add(f32x4.mul(p, z), kv(ERF_A1));
  p = f32x4.add(f32x4.mul(p, z), kv(ONE));
  p = f32x4.mul(p, p); // ^2
  p = f32x4.mul(p, p); // ^4
  p = f32x4.mul(p, p); // ^8
  p = f32x4.mul(p, p); // ^16
  const r = f32x4.sub(kv(ONE), f32x4.div(kv(ONE), p));
  // copy the sign of x
  return v128.or(r, v128.and(x, kv(SIGN)));
}

/** tanh per lane: sign(u) (1 - 2 / (e^(2|u|) + 1)). */
@inline export function vtanh(u: v128): v128 {
  const e = vexp(f32x4.mul(kv(TWO), f32x4.abs(u)));
  const r = f32x4.sub(kv(ONE), f32x4.div(kv(TWO), f32x4.add(e, kv(ONE))));
  return v128.or(r, v128.and(u, kv(SIGN)));
}

/** Lane sum in a fixed order: (l0 + l2) + (l1 + l3). */
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

@inline export function hmax(v: v128): f32 {
  const s = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1));
}

/** Scalar e^x through the vector path, so tails round exactly like the lanes. */
@inline export function sexp(x: f32): f32 {
  return f32x4.extract_lane(vexp(f32x4.splat(x)), 0);
}
