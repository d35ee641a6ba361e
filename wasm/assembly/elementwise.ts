// Elementwise kernels and AdamW. Parallel ones take (part, nparts) and own a contiguous range of
// elements (a multiple of 16 long), so an element's result never depends on the split.
import { GELU_TANH_3K, GELU_TANH_C, GELU_TANH_K, HALF, INV_SQRT_2PI, kv, MINUS_HALF, ONE, SQRT1_2, verf, vexp, vtanh } from './vmath';

@inline export function partStart(n: i32, part: i32, nparts: i32): i32 {
  const chunk = ((n + nparts - 1) / nparts + 15) & ~15;
  return min(n, part * chunk);
}

@inline export function partEnd(n: i32, part: i32, nparts: i32): i32 {
  return partStart(n, part + 1, nparts);
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** out[r, c] = a[r, c] + b[c]; rows are split between parts. */
export function addBroadcast(out: usize, a: usize, b: usize, size: i32, n: i32, part: i32, nparts: i32): void {
  const rows = size / n;
  const r0 = <i32>((<i64>rows * part) / nparts), r1 = <i32>((<i64>rows * (part + 1)) / nparts);
  for (let r = r0; r < r1; r++) {
    const o = <usize>r * n;
    const po = out + (o << 2), pa = a + (o << 2);
    let c = 0;
    for (; c + 4 <= n; c += 4) v128.store(at(po, c), f32x4.add(v128.load(at(pa, c)), v128.load(at(b, c))));
    for (; c < n; c++) store<f32>(at(po, c), load<f32>(at(pa, c)) + load<f32>(at(b, c)));
  }
  // a partial last row, if size is not a multiple of n
  if (part == nparts - 1) {
    for (let i = rows * n; i < size; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i - rows * n)));
  }
}

/** db[c] += sum over rows of dy[r, c]; columns are split between parts, rows summed in order. */
export function sumRowsInto(db: usize, dy: usize, rows: i32, n: i32, part: i32, nparts: i32): void {
  const c0 = partStart(n, part, nparts), c1 = partEnd(n, part, nparts);
  const ld = <usize>n << 2;
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    let acc = f32x4.splat(0);
    let p = at(dy, c);
    for (let r = 0; r < rows; r++) {
      acc = f32x4.add(acc, v128.load(p));
      p += ld;
    }
    v128.store(at(db, c), f32x4.add(v128.load(at(db, c)), acc));
  }
  for (; c < c1; c++) {
    let s: f32 = 0;
    for (let r = 0; r < rows; r++) s += load<f32>(dy + <usize>r * ld + (<usize>c << 2));
    store<f32>(at(db, c), load<f32>(at(db, c)) + s);
  }
}

export function axpy(dst: usize, src: usize, scale: f32, n: i32, part: i32, nparts: i32): void {
  const i1 = partEnd(n, part, nparts), s = f32x4.splat(scale);
  let i = partStart(n, part, nparts);
  for (; i + 4 <= i1; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), f32x4.mul(s, v128.load(at(src, i)))));
  for (; i < i1; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + scale * load<f32>(at(src, i)));
}

export function scale(out: usize, x: usize, scale: f32, n: i32, part: i32, nparts: i32): void {
  const i1 = partEnd(n, part, nparts), s = f32x4.splat(scale);
  let i = partStart(n, part, nparts);
  for (; i + 4 <= i1; i += 4) v128.store(at(out, i), f32x4.mul(s, v128.load(at(x, i))));
  for (; i < i1; i++) store<f32>(at(out, i), scale * load<f32>(at(x, i)));
}

/** out = x * mask. */
export function mul(out: usize, x: usize, mask: usize, n: i32, part: i32, nparts: i32): void {
  const i1 = partEnd(n, part, nparts);
  let i = partStart(n, part, nparts);
  for (; i + 4 <= i1; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(x, i)), v128.load(at(mask, i))));
  for (; i < i1; i++) store<f32>(at(out, i), load<f32>(at(x, i)) * load<f32>(at(mask, i)));
}

/** dx += dout * mask. */
export function mulBackward(dx: usize, dout: usize, mask: usize, n: i32, part: i32, nparts: i32): void {
  const i1 = partEnd(n, part, nparts);
  let i = partStart(n, part, nparts);
  for (; i + 4 <= i1; i += 4) {
    v128.store(at(dx, i), f32x4.add(v128.load(at(dx, i)), f32x4.mul(v128.load(at(dout, i)), v128.load(at(mask, i)))));
  }
  for (; i < i1; i++) store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dout, i)) * load<f32>(at(mask, i)));
}

/** Sum of squares in float64 (two lanes), one thread. */
export function sumSquares(x: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(x, i));
    const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(at(x, i));
    s += v * v;
  }
  return s;
}

@inline function geluV(x: v128, tanh: bool): v128 {
  const half = f32x4.mul(kv(HALF), x);
  if (tanh) {
    const u = f32x4.mul(kv(GELU_TANH_C), f32x4.add(x, f32x4.mul(kv(GELU_TANH_K), f32x4.mul(x, f32x4.mul(x, x)))));
    return f32x4.mul(half, f32x4.add(kv(ONE), vtanh(u)));
  }
  return f32x4.mul(half, f32x4.add(kv(ONE), verf(f32x4.mul(x, kv(SQRT1_2)))));
}

@inline function geluGradV(x: v128, tanh: bool): v128 {
  if (tanh) {
    const x2 = f32x4.mul(x, x);
    const u = f32x4.mul(kv(GELU_TANH_C), f32x4.add(x, f32x4.mul(kv(GELU_TANH_K), f32x4.mul(x, x2))));
    const th = vtanh(u);
    const du = f32x4.mul(kv(GELU_TANH_C), f32x4.add(kv(ONE), f32x4.mul(kv(GELU_TANH_3K), x2)));
    const a = f32x4.mul(kv(HALF), f32x4.add(kv(ONE), th));
    const b = f32x4.mul(f32x4.mul(f32x4.mul(kv(HALF), x), f32x4.sub(kv(ONE), f32x4.mul(th, th))), du);
    return f32x4.add(a, b);
  }
  const cdf = f32x4.mul(kv(HALF), f32x4.add(kv(ONE), verf(f32x4.mul(x, kv(SQRT1_2)))));
  const pdf = vexp(f32x4.mul(kv(MINUS_HALF), f32x4.mul(x, x)));
  return f32x4.add(cdf, f32x4.mul(f32x4.mul(x, kv(INV_SQRT_2PI)), pdf));
}

// Four independent vectors per iteration: the polynomials are long dependency chains, and
// V8 does not interleave loop iterations itself.
@inline function geluRange(out: usize, x: usize, i: i32, i1: i32, tanh: bool): void {
  for (; i + 16 <= i1; i += 16) {
    const p = at(x, i), q = at(out, i);
    const a = geluV(v128.load(p), tanh), b = geluV(v128.load(p, 16), tanh);
    const c = geluV(v128.load(p, 32), tanh), d = geluV(v128.load(p, 48), tanh);
    v128.store(q, a); v128.store(q, b, 16); v128.store(q, c, 32); v128.store(q, d, 48);
  }
  for (; i + 4 <= i1; i += 4) v128.store(at(out, i), geluV(v128.load(at(x, i)), tanh));
  for (; i < i1; i++) store<f32>(at(out, i), f32x4.extract_lane(geluV(f32x4.splat(load<f32>(at(x, i))), tanh), 0));
}

@inline function geluGradRange(dx: usize, dout: usize, x: usize, i: i32, i1: i32, tanh: bool): void {
  for (; i + 16 <= i1; i += 16) {
    const p = at(x, i), g = at(dout, i), q = at(dx, i);
    const a = f32x4.mul(v128.load(g), geluGradV(v128.load(p), tanh));
    const b = f32x4.mul(v128.load(g, 16), geluGradV(v128.load(p, 16), tanh));
    const c = f32x4.mul(v128.load(g, 32), geluGradV(v128.load(p, 32), tanh));
    const d = f32x4.mul(v128.load(g, 48), geluGradV(v128.load(p, 48), tanh));
    v128.store(q, f32x4.add(v128.load(q), a));
    v128.store(q, f32x4.add(v128.load(q, 16), b), 16);
    v128.store(q, f32x4.add(v128.load(q, 32), c), 32);
    v128.store(q, f32x4.add(v128.load(q, 48), d), 48);
  }
  for (; i + 4 <= i1; i += 4) {
    const g = f32x4.mul(v128.load(at(dout, i)), geluGradV(v128.load(at(x, i)), tanh));
    v128.store(at(dx, i), f32x4.add(v128.load(at(dx, i)), g));
  }
  for (; i < i1; i++) {
    const g = load<f32>(at(dout, i)) * f32x4.extract_lane(geluGradV(f32x4.splat(load<f32>(at(x, i))), tanh), 0);
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + g);
  }
}

export function gelu(out: usize, x: usize, n: i32, tanh: i32, part: i32, nparts: i32): void {
  const i0 = partStart(n, part, nparts), i1 = partEnd(n, part, nparts);
  if (tanh) geluRange(out, x, i0, i1, true);
  else geluRange(out, x, i0, i1, false);
}

export function geluBackward(dx: usize, dout: usize, x: usize, n: i32, tanh: i32, part: i32, nparts: i32): void {
  const i0 = partStart(n, part, nparts), i1 = partEnd(n, part, nparts);
  if (tanh) geluGradRange(dx, dout, x, i0, i1, true);
  else geluGradRange(dx, dout, x, i0, i1, false);
}

/**
 * One AdamW step in one pass over p, g, m, v, in PyTorch's order of operations:
 * p = p * decay - stepSize * m / (sqrt(v) * invSqrtBc2 + eps), where decay = 1 - lr * wd,
 * stepSize = lr / (1 - beta1^t), invSqrtBc2 = 1 / sqrt(1 - beta2^t).
 */
export function adamw(p: usize, g: usize, m: usize, v: usize, n: i32, stepSize: f32, beta1: f32, beta2: f32, eps: f32,
  decay: f32, invSqrtBc2: f32, gradScale: f32, part: i32, nparts: i32): void {
  const i1 = partEnd(n, part, nparts);
  const vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2), va1 = f32x4.splat(1 - beta1), va2 = f32x4.splat(1 - beta2);
  const vgs = f32x4.splat(gradScale), vdec = f32x4.splat(decay), vstep = f32x4.splat(stepSize), veps = f32x4.splat(eps);
  const vbc2 = f32x4.splat(invSqrtBc2);
  let i = partStart(n, part, nparts);
  for (; i + 4 <= i1; i += 4) {
    const grad = f32x4.mul(v128.load(at(g, i)), vgs);
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(at(m, i))), f32x4.mul(va1, grad));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(at(v, i))), f32x4.mul(va2, f32x4.mul(grad, grad)));
    v128.store(at(m, i), mi);
    v128.store(at(v, i), vi);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), vbc2), veps);
    v128.store(at(p, i), f32x4.sub(f32x4.mul(v128.load(at(p, i)), vdec), f32x4.div(f32x4.mul(vstep, mi), denom)));
  }
  for (; i < i1; i++) {
    const grad = load<f32>(at(g, i)) * gradScale;
    const mi = beta1 * load<f32>(at(m, i)) + (1 - beta1) * grad;
    const vi = beta2 * load<f32>(at(v, i)) + (1 - beta2) * (grad * grad);
    store<f32>(at(m, i), mi);
    store<f32>(at(v, i), vi);
    const denom = Mathf.sqrt(vi) * invSqrtBc2 + eps;
    store<f32>(at(p, i), load<f32>(at(p, i)) * decay - (stepSize * mi) / denom);
  }
}
