// Row-wise kernels: LayerNorm, softmax, cross-entropy, embeddings. Parallel ones split rows.
import { hmax, hsum, sexp, vexp } from './vmath';

@inline function rowStart(n: i32, part: i32, nparts: i32): i32 {
  return <i32>((<i64>n * part) / nparts);
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Per row of x [N, C]: out = (x - mean) * rstd * w + b (b may be 0); saves mean and rstd. */
export function layerNorm(out: usize, mean: usize, rstd: usize, x: usize, w: usize, b: usize, N: i32, C: i32, eps: f32,
  part: i32, nparts: i32): void {
  const r1 = rowStart(N, part + 1, nparts);
  for (let r = rowStart(N, part, nparts); r < r1; r++) {
    const xr = x + (<usize>r * C << 2), orow = out + (<usize>r * C << 2);
    let acc = f32x4.splat(0), s: f32 = 0, c = 0;
    for (; c + 4 <= C; c += 4) acc = f32x4.add(acc, v128.load(at(xr, c)));
    s = hsum(acc);
    for (; c < C; c++) s += load<f32>(at(xr, c));
    const m = s / <f32>C;
    const vm = f32x4.splat(m);
    acc = f32x4.splat(0);
    for (c = 0; c + 4 <= C; c += 4) {
      const d = f32x4.sub(v128.load(at(xr, c)), vm);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let v = hsum(acc);
    for (; c < C; c++) {
      const d = load<f32>(at(xr, c)) - m;
      v += d * d;
    }
    const rs: f32 = <f32>(1 / Math.sqrt(<f64>(v / <f32>C) + <f64>eps));
    const vr = f32x4.splat(rs);
    for (c = 0; c + 4 <= C; c += 4) {
      let y = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(at(xr, c)), vm), vr), v128.load(at(w, c)));
      if (b) y = f32x4.add(y, v128.load(at(b, c)));
      v128.store(at(orow, c), y);
    }
    for (; c < C; c++) {
      let y = (load<f32>(at(xr, c)) - m) * rs * load<f32>(at(w, c));
      if (b) y += load<f32>(at(b, c));
      store<f32>(at(orow, c), y);
    }
    store<f32>(at(mean, r), m);
    store<f32>(at(rstd, r), rs);
  }
}

/**
 * Adds into dx, dw, db (db may be 0): dx = rstd * (dout w - mean(dout w) - xhat mean(dout w xhat)).
 * One thread: dw and db are sums over rows, kept in row order.
 */
export function layerNormBackward(dx: usize, dw: usize, db: usize, dout: usize, x: usize, w: usize, mean: usize, rstd: usize,
  N: i32, C: i32): void {
  for (let r = 0; r < N; r++) {
    const o = <usize>r * C << 2;
    const xr = x + o, dr = dout + o, dxr = dx + o;
    const m = load<f32>(at(mean, r)), rs = load<f32>(at(rstd, r));
    const vm = f32x4.splat(m), vr = f32x4.splat(rs);
    let a1 = f32x4.splat(0), a2 = f32x4.splat(0), c = 0;
    for (; c + 4 <= C; c += 4) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(at(xr, c)), vm), vr);
      const d = f32x4.mul(v128.load(at(dr, c)), v128.load(at(w, c)));
      a1 = f32x4.add(a1, d);
      a2 = f32x4.add(a2, f32x4.mul(d, xhat));
    }
    let sumD = hsum(a1), sumDX = hsum(a2);
    for (; c < C; c++) {
      const xhat = (load<f32>(at(xr, c)) - m) * rs;
      const d = load<f32>(at(dr, c)) * load<f32>(at(w, c));
      sumD += d;
      sumDX += d * xhat;
    }
    sumD /= <f32>C;
    sumDX /= <f32>C;
    const vD = f32x4.splat(sumD), vDX = f32x4.splat(sumDX);
    for (c = 0; c + 4 <= C; c += 4) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(at(xr, c)), vm), vr);
      const g = v128.load(at(dr, c));
      const d = f32x4.mul(g, v128.load(at(w, c)));
      const t = f32x4.mul(vr, f32x4.sub(f32x4.sub(d, vD), f32x4.mul(xhat, vDX)));
      v128.store(at(dxr, c), f32x4.add(v128.load(at(dxr, c)), t));
      v128.store(at(dw, c), f32x4.add(v128.load(at(dw, c)), f32x4.mul(g, xhat)));
      if (db) v128.store(at(db, c), f32x4.add(v128.load(at(db, c)), g));
    }
    for (; c < C; c++) {
      const xhat = (load<f32>(at(xr, c)) - m) * rs;
      const g = load<f32>(at(dr, c));
      store<f32>(at(dxr, c), load<f32>(at(dxr, c)) + rs * (g * load<f32>(at(w, c)) - sumD - xhat * sumDX));
      store<f32>(at(dw, c), load<f32>(at(dw, c)) + g * xhat);
      if (db) store<f32>(at(db, c), load<f32>(at(db, c)) + g);
    }
  }
}

/** out[i, :] = table[ids[i], :]. */
export function embedding(out: usize, table: usize, ids: usize, N: i32, C: i32, part: i32, nparts: i32): void {
  const r1 = rowStart(N, part + 1, nparts);
  for (let i = rowStart(N, part, nparts); i < r1; i++) {
    const src = table + (<usize>load<i32>(at(ids, i)) * C << 2), dst = out + (<usize>i * C << 2);
    memory.copy(dst, src, <usize>C << 2);
  }
}

/** dtable[ids[i], :] += dout[i, :], in order of i (one thread: ids may repeat). */
export function embeddingBackward(dtable: usize, dout: usize, ids: usize, N: i32, C: i32): void {
  for (let i = 0; i < N; i++) {
    const dst = dtable + (<usize>load<i32>(at(ids, i)) * C << 2), src = dout + (<usize>i * C << 2);
    let c = 0;
    for (; c + 4 <= C; c += 4) v128.store(at(dst, c), f32x4.add(v128.load(at(dst, c)), v128.load(at(src, c))));
    for (; c < C; c++) store<f32>(at(dst, c), load<f32>(at(dst, c)) + load<f32>(at(src, c)));
  }
}

/** The max of the row expRow saw last (each thread has its own instance, so its own copy). */
let rowMax: f32 = 0;

/** out = exp((x - max) / temperature) for one row of V; returns the sum. */
@inline function expRow(out: usize, x: usize, V: i32, temperature: f32): f32 {
  let vmax = f32x4.splat(-Infinity), c = 0;
  for (; c + 4 <= V; c += 4) vmax = f32x4.pmax(vmax, v128.load(at(x, c)));
  let mx = hmax(vmax);
  for (; c < V; c++) mx = max(mx, load<f32>(at(x, c)));
  rowMax = mx;
  const vm = f32x4.splat(mx), vt = f32x4.splat(temperature);
  let acc = f32x4.splat(0);
  for (c = 0; c + 4 <= V; c += 4) {
    const e = vexp(f32x4.div(f32x4.sub(v128.load(at(x, c)), vm), vt));
    v128.store(at(out, c), e);
    acc = f32x4.add(acc, e);
  }
  let s = hsum(acc);
  for (; c < V; c++) {
    const e = sexp((load<f32>(at(x, c)) - mx) / temperature);
    store<f32>(at(out, c), e);
    s += e;
  }
  return s;
}

@inline function divideRow(out: usize, V: i32, s: f32): void {
  const vs = f32x4.splat(s);
  let c = 0;
  for (; c + 4 <= V; c += 4) v128.store(at(out, c), f32x4.div(v128.load(at(out, c)), vs));
  for (; c < V; c++) store<f32>(at(out, c), load<f32>(at(out, c)) / s);
}

/** Softmax of x / temperature over each row of [N, V]. */
export function softmax(out: usize, x: usize, N: i32, V: i32, temperature: f32, part: i32, nparts: i32): void {
  const r1 = rowStart(N, part + 1, nparts);
  for (let r = rowStart(N, part, nparts); r < r1; r++) {
    const o = <usize>r * V << 2;
    divideRow(out + o, V, expRow(out + o, x + o, V, temperature));
  }
}

/** probs = softmax(logits); losses[i] = log(sum) - (logits[t] - max), 0 where the target is -1. */
export function crossEntropy(losses: usize, probs: usize, logits: usize, targets: usize, N: i32, V: i32,
  part: i32, nparts: i32): void {
  const r1 = rowStart(N, part + 1, nparts);
  for (let r = rowStart(N, part, nparts); r < r1; r++) {
    const o = <usize>r * V << 2;
    const s = expRow(probs + o, logits + o, V, 1);
    const t = load<i32>(at(targets, r));
    if (t < 0) {
      store<f32>(at(losses, r), 0);
    } else {
      store<f32>(at(losses, r), <f32>(Math.log(<f64>s) - <f64>(load<f32>(at(logits + o, t)) - rowMax)));
    }
    divideRow(probs + o, V, s);
  }
}

/** dlogits[i, :] += dloss * (probs[i, :] - onehot(targets[i])), rows with target -1 skipped. */
export function crossEntropyBackward(dlogits: usize, probs: usize, targets: usize, dloss: f32, N: i32, V: i32,
  part: i32, nparts: i32): void {
  const r1 = rowStart(N, part + 1, nparts);
  const vd = f32x4.splat(dloss);
  for (let r = rowStart(N, part, nparts); r < r1; r++) {
    const t = load<i32>(at(targets, r));
    if (t < 0) continue;
    const o = <usize>r * V << 2;
    const pr = probs + o, dr = dlogits + o;
    const old = load<f32>(at(dr, t));
    let c = 0;
    for (; c + 4 <= V; c += 4) v128.store(at(dr, c), f32x4.add(v128.load(at(dr, c)), f32x4.mul(vd, v128.load(at(pr, c)))));
    for (; c < V; c++) store<f32>(at(dr, c), load<f32>(at(dr, c)) + dloss * load<f32>(at(pr, c)));
    store<f32>(at(dr, t), old + dloss * (load<f32>(at(pr, t)) - 1));
  }
}
