// Four-lane float32 exp, erf, tanh and horizontal sums, accurate to a few float32 ulps.

/**
 * e^x per lane: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-7 polynomial (Cephes' expf
 * coefficients). Rounding to n by adding 1.5 * 2^23 (the integer lands in the low mantissa
 * bits), and pmin / pmax rather than min / max: both are single x86 instructions, while the
 * NaN-exact f32x4.min / nearest / trunc_sat each take several.
 */
@inline export function vexp(x: v128): v128 {
  const lo = f32x4.splat(-87.3365478515625), hi = f32x4.splat(88.3762626647949);
  const magic = f32x4.splat(12582912.0);
  const under = f32x4.lt(x, lo);
  x = f32x4.pmin(f32x4.pmax(x, lo), hi);
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504)), magic);
  const n = f32x4.sub(t, magic);
  // ln 2 in two parts so n * ln2hi is exact
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.add(r, f32x4.mul(n, f32x4.splat(2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n from the exponent bits: n is in [-126, 127] after the clamp
  const ni = i32x4.sub(t, magic);
  const scale = i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, scale), under);
}

/**
 * erf per lane, Abramowitz and Stegun 7.1.28: 1 - 1 / (1 + a1 z + ... + a6 z^6)^16 for z >= 0
 * (absolute error below 3e-7), no exp needed.
 */
@inline export function verf(x: v128): v128 {
  const z = f32x4.abs(x);
  let p = f32x4.splat(0.0000430638);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.0002765672));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.0001520143));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.0092705272));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.0422820123));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.0705230784));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1));
  p = f32x4.mul(p, p); // ^2
  p = f32x4.mul(p, p); // ^4
  p = f32x4.mul(p, p); // ^8
  p = f32x4.mul(p, p); // ^16
  const r = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(1), p));
  // copy the sign of x
  return v128.or(r, v128.and(x, i32x4.splat(0x80000000)));
}

/** tanh per lane: sign(u) (1 - 2 / (e^(2|u|) + 1)). */
@inline export function vtanh(u: v128): v128 {
  const e = vexp(f32x4.mul(f32x4.splat(2), f32x4.abs(u)));
  const r = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  return v128.or(r, v128.and(u, i32x4.splat(0x80000000)));
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
