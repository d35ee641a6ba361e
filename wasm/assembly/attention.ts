// Causal self-attention forward and backward from the fused qkv [B, T, 3C] layout. Work is split
// by (batch, head) pairs, part-th of nparts on thread `thread` (scratch + thread * stride); only
// the visible keys t2 <= t are computed, read or written.
import { hmax, hsum, sexp, vexp } from './vmath';

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

@inline function round4(n: i32): i32 {
  return (n + 3) & ~3;
}

/** Scratch bytes one part needs (the larger of forward and backward). */
export function attentionScratchBytes(T: i32, C: i32, H: i32): i32 {
  const hs = C / H, hp = round4(hs), Tp = round4(T);
  const fwd = hs * Tp + T * hp + Tp + hp;
  const bwd = 3 * T * hp + hs * Tp + T * Tp + Tp + hp;
  return max(fwd, bwd) * 4 + 64;
}

/** dst[0..n) = src[0..n) (add: +=). */
@inline function putRow(dst: usize, src: usize, n: i32, add: bool): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(src, i));
    v128.store(at(dst, i), add ? f32x4.add(v128.load(at(dst, i)), v) : v);
  }
  for (; i < n; i++) store<f32>(at(dst, i), add ? load<f32>(at(dst, i)) + load<f32>(at(src, i)) : load<f32>(at(src, i)));
}

/** row[0..nk) = x . cols[:, 0..nk) where cols is [n][Tp] and x has n values (4 keys per lane group). */
@inline function rowTimesCols(row: usize, x: usize, cols: usize, n: i32, Tp: i32, nk: i32, scale: f32): void {
  const ld = <usize>Tp << 2, vs = f32x4.splat(scale);
  let g = 0;
  for (; g + 16 <= nk; g += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = at(cols, g);
    for (let i = 0; i < n; i++) {
      const q = v128.load32_splat(at(x, i));
      a0 = f32x4.add(a0, f32x4.mul(q, v128.load(p)));
      a1 = f32x4.add(a1, f32x4.mul(q, v128.load(p, 16)));
      a2 = f32x4.add(a2, f32x4.mul(q, v128.load(p, 32)));
      a3 = f32x4.add(a3, f32x4.mul(q, v128.load(p, 48)));
      p += ld;
    }
    v128.store(at(row, g), f32x4.mul(a0, vs));
    v128.store(at(row, g), f32x4.mul(a1, vs), 16);
    v128.store(at(row, g), f32x4.mul(a2, vs), 32);
    v128.store(at(row, g), f32x4.mul(a3, vs), 48);
  }
  for (; g < nk; g += 4) {
    let a0 = f32x4.splat(0);
    let p = at(cols, g);
    for (let i = 0; i < n; i++) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(at(x, i)), v128.load(p)));
      p += ld;
    }
    v128.store(at(row, g), f32x4.mul(a0, vs));
  }
}

/** acc[0..hp) = sum over t2 < nk of w[t2 * ws] * rows[t2][0..hp) (rows is [.][hp]). */
@inline function weightedRows(acc: usize, w: usize, ws: i32, rows: usize, hp: i32, nk: i32): void {
  const ld = <usize>hp << 2, wstep = <usize>ws << 2;
  let ib = 0;
  for (; ib + 16 <= hp; ib += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = at(rows, ib), pw = w;
    for (let t2 = 0; t2 < nk; t2++) {
      const s = v128.load32_splat(pw);
      a0 = f32x4.add(a0, f32x4.mul(s, v128.load(p)));
      a1 = f32x4.add(a1, f32x4.mul(s, v128.load(p, 16)));
      a2 = f32x4.add(a2, f32x4.mul(s, v128.load(p, 32)));
      a3 = f32x4.add(a3, f32x4.mul(s, v128.load(p, 48)));
      p += ld;
      pw += wstep;
    }
    v128.store(at(acc, ib), a0);
    v128.store(at(acc, ib), a1, 16);
    v128.store(at(acc, ib), a2, 32);
    v128.store(at(acc, ib), a3, 48);
  }
  for (; ib < hp; ib += 4) {
    let a0 = f32x4.splat(0);
    let p = at(rows, ib), pw = w;
    for (let t2 = 0; t2 < nk; t2++) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pw), v128.load(p)));
      p += ld;
      pw += wstep;
    }
    v128.store(at(acc, ib), a0);
  }
}

/** dst [T][hp] = the hs columns at src + t * C3 (zero padded); or transposed, dst [hs][Tp]. */
function packHead(dst: usize, src: usize, T: i32, C3: i32, hs: i32, hp: i32, Tp: i32, transpose: bool): void {
  for (let t = 0; t < T; t++) {
    const s = src + (<usize>t * C3 << 2);
    if (transpose) {
      for (let i = 0; i < hs; i++) store<f32>(at(dst, i * Tp + t), load<f32>(at(s, i)));
    } else {
      const d = dst + (<usize>t * hp << 2);
      memory.copy(d, s, <usize>hs << 2);
      for (let i = hs; i < hp; i++) store<f32>(at(d, i), 0);
    }
  }
}

export function attention(out: usize, att: usize, qkv: usize, mask: usize, B: i32, T: i32, C: i32, H: i32,
  scratch: usize, stride: usize, part: i32, nparts: i32, thread: i32): void {
  const hs = C / H, hp = round4(hs), Tp = round4(T), C3 = 3 * C;
  const scale = <f32>(1 / Math.sqrt(<f64>hs));
  const units = B * H;
  const u0 = <i32>((<i64>units * part) / nparts), u1 = <i32>((<i64>units * (part + 1)) / nparts);
  const base = (scratch + <usize>thread * stride + 63) & ~(<usize>63);
  const kt = base, vp = at(kt, hs * Tp), row = at(vp, T * hp), acc = at(row, Tp);
  for (let u = u0; u < u1; u++) {
    const b = u / H, h = u % H;
    const head = qkv + ((<usize>b * T * C3 + <usize>h * hs) << 2);
    packHead(kt, at(head, C), T, C3, hs, hp, Tp, true);
    packHead(vp, at(head, 2 * C), T, C3, hs, hp, Tp, false);
    for (let t = 0; t < T; t++) {
      const nk = t + 1;
      const arow = at(att, (u * T + t) * T);
      rowTimesCols(row, at(head, t * C3), kt, hs, Tp, nk, scale);
      // stable softmax over the visible keys
      let vmax = f32x4.splat(-Infinity), j = 0;
      for (; j + 4 <= nk; j += 4) vmax = f32x4.pmax(vmax, v128.load(at(row, j)));
      let mx = hmax(vmax);
      for (; j < nk; j++) mx = max(mx, load<f32>(at(row, j)));
      const vm = f32x4.splat(mx);
      let vsum = f32x4.splat(0);
      for (j = 0; j + 4 <= nk; j += 4) {
        const e = vexp(f32x4.sub(v128.load(at(row, j)), vm));
        v128.store(at(row, j), e);
        vsum = f32x4.add(vsum, e);
      }
      let sum = hsum(vsum);
      for (; j < nk; j++) {
        const e = sexp(load<f32>(at(row, j)) - mx);
        store<f32>(at(row, j), e);
        sum += e;
      }
      const vs = f32x4.splat(sum);
      for (j = 0; j + 4 <= nk; j += 4) {
        const p = f32x4.div(v128.load(at(row, j)), vs);
        v128.store(at(arow, j), p);
        v128.store(at(row, j), mask ? f32x4.mul(p, v128.load(at(mask, (u * T + t) * T + j))) : p);
      }
      for (; j < nk; j++) {
        const p = load<f32>(at(row, j)) / sum;
        store<f32>(at(arow, j), p);
        store<f32>(at(row, j), mask ? p * load<f32>(at(mask, (u * T + t) * T + j)) : p);
      }
      weightedRows(acc, row, 1, vp, hp, nk);
      putRow(out + ((<usize>(b * T + t) * C + <usize>h * hs) << 2), acc, hs, false);
    }
  }
}

export function attentionBackward(dqkv: usize, dout: usize, qkv: usize, att: usize, mask: usize, B: i32, T: i32, C: i32,
  H: i32, scratch: usize, stride: usize, part: i32, nparts: i32, thread: i32): void {
  const hs = C / H, hp = round4(hs), Tp = round4(T), C3 = 3 * C;
  const scale = <f32>(1 / Math.sqrt(<f64>hs));
  const units = B * H;
  const u0 = <i32>((<i64>units * part) / nparts), u1 = <i32>((<i64>units * (part + 1)) / nparts);
  const base = (scratch + <usize>thread * stride + 63) & ~(<usize>63);
  const kp = base, qp = at(kp, T * hp), dop = at(qp, T * hp), vt = at(dop, T * hp), ds = at(vt, hs * Tp);
  const row = at(ds, T * Tp), acc = at(row, Tp);
  for (let u = u0; u < u1; u++) {
    const b = u / H, h = u % H;
    const head = qkv + ((<usize>b * T * C3 + <usize>h * hs) << 2);
    const dhead = dqkv + ((<usize>b * T * C3 + <usize>h * hs) << 2);
    packHead(qp, head, T, C3, hs, hp, Tp, false);
    packHead(kp, at(head, C), T, C3, hs, hp, Tp, false);
    packHead(vt, at(head, 2 * C), T, C3, hs, hp, Tp, true);
    packHead(dop, dout + ((<usize>b * T * C + <usize>h * hs) << 2), T, C, hs, hp, Tp, false);
    // rows: dp = dout . v (times the mask), ds = p (dp - sum(p dp)) scale, dq += ds @ k
    for (let t = 0; t < T; t++) {
      const nk = t + 1, a = (u * T + t) * T;
      const arow = at(att, a), dsrow = at(ds, t * Tp);
      rowTimesCols(row, at(dop, t * hp), vt, hs, Tp, nk, 1);
      let dot: f32 = 0;
      let vdot = f32x4.splat(0), j = 0;
      for (; j + 4 <= nk; j += 4) {
        let dp = v128.load(at(row, j));
        if (mask) dp = f32x4.mul(dp, v128.load(at(mask, a + j)));
        v128.store(at(row, j), dp);
        vdot = f32x4.add(vdot, f32x4.mul(v128.load(at(arow, j)), dp));
      }
      dot = hsum(vdot);
      for (; j < nk; j++) {
        let dp = load<f32>(at(row, j));
        if (mask) dp *= load<f32>(at(mask, a + j));
        store<f32>(at(row, j), dp);
        dot += load<f32>(at(arow, j)) * dp;
      }
      const vd = f32x4.splat(dot), vsc = f32x4.splat(scale);
      for (j = 0; j + 4 <= nk; j += 4) {
        v128.store(at(dsrow, j), f32x4.mul(f32x4.mul(v128.load(at(arow, j)), f32x4.sub(v128.load(at(row, j)), vd)), vsc));
      }
      for (; j < nk; j++) store<f32>(at(dsrow, j), load<f32>(at(arow, j)) * (load<f32>(at(row, j)) - dot) * scale);
      weightedRows(acc, dsrow, 1, kp, hp, nk);
      putRow(at(dhead, t * C3), acc, hs, true);
    }
    // columns: dk[t2] += sum over t >= t2 of ds[t][t2] q[t]; dv[t2] += sum of p[t][t2] mask[t][t2] dout[t]
    for (let t2 = 0; t2 < T; t2++) {
      const n = T - t2;
      weightedRows(acc, at(ds, t2 * Tp + t2), Tp, at(qp, t2 * hp), hp, n);
      putRow(at(dhead, t2 * C3 + C), acc, hs, true);
      // p * mask for column t2, rows t2.. (into the row buffer)
      for (let t = t2; t < T; t++) {
        const a = (u * T + t) * T + t2;
        const p = load<f32>(at(att, a));
        store<f32>(at(row, t - t2), mask ? p * load<f32>(at(mask, a)) : p);
      }
      weightedRows(acc, row, 1, at(dop, t2 * hp), hp, n);
      putRow(at(dhead, t2 * C3 + 2 * C), acc, hs, true);
    }
  }
}
