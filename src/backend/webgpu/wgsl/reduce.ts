// Kernels that reduce: over a whole buffer (sumSquares, the mean loss), along rows (one
// workgroup a row: softmax, cross-entropy, layer norm) or down columns (bias and layer-norm
// weight gradients, embedding gradients). Orders of summation are fixed, so results repeat.
import type { ProgramSpec } from '../program.js';
import { WG_REDUCE } from './common.js';

/** Invocations per row of the row kernels (and of the whole-buffer sums). */
const ROW_WG = 64;

const ROW_MAIN = '@compute @workgroup_size(WG)\nfn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32)';

/** Partial sums of x^2: workgroup w sums its slice (compensated) into partial[w]. */
export const sumSquaresPartial: ProgramSpec = {
  name: 'sumSquaresPartial', buffers: [['partial', 'rw'], ['x', 'r']], params: [['n', 'u32'], ['chunk', 'u32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  let start = wid.x * P.chunk;
  let end = min(start + P.chunk, P.n);
  var s = 0.0;
  var comp = 0.0;
  for (var i = start + lid; i < end; i = i + WG) {
    let y = x[i] * x[i] - comp;
    let t = s + y;
    comp = (t - s) - y;
    s = t;
  }
  let total = wgSum(s, lid);
  if (lid == 0u) { partial[wid.x] = total; }
}`,
};

/**
 * out[0] = (accumulate ? out[0] : 0) + scale * (sum of x[0 .. count)), one workgroup: the total of
 * a reduction's partial sums, or the mean loss (scale 1 / count; NaN when no target counts, as PyTorch).
 */
export const sumInto: ProgramSpec = {
  name: 'sumInto', buffers: [['out', 'rw'], ['x', 'r']], params: [['count', 'u32'], ['accumulate', 'u32'], ['scale', 'f32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  var s = 0.0;
  for (var i = lid; i < P.count; i = i + WG) { s = s + x[i]; }
  let total = wgSum(s, lid);
  if (lid == 0u) { out[0] = select(0.0, out[0], P.accumulate != 0u) + total * P.scale; }
}`,
};

/**
 * Column sums of a [rows, n] matrix: a workgroup takes 64 columns, its 4 lanes of 64
 * invocations take every 4th row, and the lanes' sums are added in lane order.
 * COLUMN_BODY(r, c) adds into the accumulators acc0 (and acc1).
 */
function columnReduce(name: string, buffers: ProgramSpec['buffers'], params: ProgramSpec['params'], body: string, store: string): ProgramSpec {
  return {
    name, buffers, params: [['rows', 'u32'], ['n', 'u32'], ...params], wg: 256,
    code: `
var<workgroup> part0: array<f32, 256>;
var<workgroup> part1: array<f32, 256>;
${ROW_MAIN} {
  let col = lid % 64u;
  let lane = lid / 64u;
  let c = wid.x * 64u + col;
  var acc0 = 0.0;
  var acc1 = 0.0;
  if (c < P.n) {
    for (var r = lane; r < P.rows; r = r + 4u) { ${body} }
  }
  part0[lid] = acc0;
  part1[lid] = acc1;
  workgroupBarrier();
  if (lane == 0u && c < P.n) {
    let s0 = part0[col] + part0[col + 64u] + part0[col + 128u] + part0[col + 192u];
    let s1 = part1[col] + part1[col + 64u] + part1[col + 128u] + part1[col + 192u];
    ${store}
  }
}`,
  };
}

/** db[c] += sum over rows of dy[r, c]. */
export const sumRowsInto = columnReduce('sumRowsInto', [['db', 'rw'], ['dy', 'r']], [],
  'acc0 = acc0 + dy[r * P.n + c];', 'db[c] = db[c] + s0;');

/** dw[c] += sum over rows of dout * xhat; db[c] += sum of dout (when hasBias). */
export const layerNormBackwardWeights = columnReduce('layerNormBackwardWeights',
  [['dw', 'rw'], ['db', 'rw'], ['dout', 'r'], ['x', 'r'], ['mean', 'r'], ['rstd', 'r']], [['hasBias', 'u32']],
  'let o = r * P.n + c; acc0 = acc0 + dout[o] * (x[o] - mean[r]) * rstd[r]; acc1 = acc1 + dout[o];',
  'dw[c] = dw[c] + s0; if (P.hasBias != 0u) { db[c] = db[c] + s1; }');

/**
 * WGSL: dst = the stable softmax of row r of src [N, V] (offset o), each score divided by `scale`
 * first when given (' / P.temperature'); leaves o, the row's max m and its sum of exps s in scope.
 */
function rowSoftmax(src: string, dst: string, scale = ''): string {
  return `let o = r * P.V;
    var m = NEG_MAX;
    for (var j = lid; j < P.V; j = j + WG) { m = max(m, ${src}[o + j]); }
    m = wgMax(m, lid);
    var s = 0.0;
    for (var j = lid; j < P.V; j = j + WG) { s = s + exp((${src}[o + j] - m)${scale}); }
    s = wgSum(s, lid);
    for (var j = lid; j < P.V; j = j + WG) { ${dst}[o + j] = exp((${src}[o + j] - m)${scale}) / s; }`;
}

/** Softmax of each row of x [N, V] / temperature. */
export const softmax: ProgramSpec = {
  name: 'softmax', buffers: [['out', 'rw'], ['x', 'r']], params: [['N', 'u32'], ['V', 'u32'], ['temperature', 'f32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  for (var r = wid.x; r < P.N; r = r + nwg.x) {
    ${rowSoftmax('x', 'out', ' / P.temperature')}
  }
}`,
};

/** dx += y * (dy - sum(dy * y)) / temperature per row. */
export const softmaxBackward: ProgramSpec = {
  name: 'softmaxBackward', buffers: [['dx', 'rw'], ['y', 'r'], ['dy', 'r']], params: [['N', 'u32'], ['V', 'u32'], ['temperature', 'f32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  for (var r = wid.x; r < P.N; r = r + nwg.x) {
    let o = r * P.V;
    var d = 0.0;
    for (var j = lid; j < P.V; j = j + WG) { d = d + dy[o + j] * y[o + j]; }
    d = wgSum(d, lid);
    for (var j = lid; j < P.V; j = j + WG) { dx[o + j] = dx[o + j] + y[o + j] * (dy[o + j] - d) / P.temperature; }
  }
}`,
};

/** Per row: probs = softmax(logits); losses[r] = -log probs[r, target] (0 for target -1). */
export const crossEntropyRows: ProgramSpec = {
  name: 'crossEntropyRows', buffers: [['losses', 'rw'], ['probs', 'rw'], ['logits', 'r'], ['targets', 'ids']],
  params: [['N', 'u32'], ['V', 'u32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  for (var r = wid.x; r < P.N; r = r + nwg.x) {
    ${rowSoftmax('logits', 'probs')}
    if (lid == 0u) {
      let t = targets[r];
      losses[r] = select(log(s) - (logits[o + u32(max(t, 0))] - m), 0.0, t < 0);
    }
  }
}`,
};

/** Per row of x [N, C]: out = (x - mean) * rstd * w + b, saving mean and rstd. */
export const layerNorm: ProgramSpec = {
  name: 'layerNorm', buffers: [['out', 'rw'], ['mean', 'rw'], ['rstd', 'rw'], ['x', 'r'], ['w', 'r'], ['b', 'r']],
  params: [['N', 'u32'], ['C', 'u32'], ['eps', 'f32'], ['hasBias', 'u32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  for (var r = wid.x; r < P.N; r = r + nwg.x) {
    let o = r * P.C;
    var s = 0.0;
    for (var c = lid; c < P.C; c = c + WG) { s = s + x[o + c]; }
    let m = wgSum(s, lid) / f32(P.C);
    var v = 0.0;
    for (var c = lid; c < P.C; c = c + WG) { let d = x[o + c] - m; v = v + d * d; }
    let rs = 1.0 / sqrt(wgSum(v, lid) / f32(P.C) + P.eps);
    for (var c = lid; c < P.C; c = c + WG) {
      var y = (x[o + c] - m) * rs * w[c];
      if (P.hasBias != 0u) { y = y + b[c]; }
      out[o + c] = y;
    }
    if (lid == 0u) { mean[r] = m; rstd[r] = rs; }
  }
}`,
};

/** dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) per row, dxhat = dout * w. */
export const layerNormBackwardInput: ProgramSpec = {
  name: 'layerNormBackwardInput', buffers: [['dx', 'rw'], ['dout', 'r'], ['x', 'r'], ['w', 'r'], ['mean', 'r'], ['rstd', 'r']],
  params: [['N', 'u32'], ['C', 'u32']], wg: ROW_WG,
  code: `${WG_REDUCE}
${ROW_MAIN} {
  for (var r = wid.x; r < P.N; r = r + nwg.x) {
    let o = r * P.C;
    let m = mean[r];
    let rs = rstd[r];
    var sd = 0.0;
    var sdx = 0.0;
    for (var c = lid; c < P.C; c = c + WG) {
      let d = dout[o + c] * w[c];
      sd = sd + d;
      sdx = sdx + d * (x[o + c] - m) * rs;
    }
    let meanD = wgSum(sd, lid) / f32(P.C);
    let meanDX = wgSum(sdx, lid) / f32(P.C);
    for (var c = lid; c < P.C; c = c + WG) {
      let xhat = (x[o + c] - m) * rs;
      dx[o + c] = dx[o + c] + rs * (dout[o + c] * w[c] - meanD - xhat * meanDX);
    }
  }
}`,
};

/**
 * dtable[id, c] += dout[i, c] for every position i holding id, without atomics: the host
 * groups positions by id (csr = unique ids, then U + 1 start offsets, then positions), a
 * workgroup row takes one id and adds its positions in ascending order, as the reference does.
 */
export const embeddingBackward: ProgramSpec = {
  name: 'embeddingBackward', buffers: [['dtable', 'rw'], ['dout', 'r'], ['csr', 'ids']], params: [['U', 'u32'], ['C', 'u32']], wg: 64,
  code: `
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * WG + lid;
  if (c >= P.C) { return; }
  for (var u = wid.y; u < P.U; u = u + nwg.y) {
    let o = u32(csr[u]) * P.C + c;
    var acc = dtable[o];
    let end = u32(csr[P.U + u + 1u]);
    for (var k = u32(csr[P.U + u]); k < end; k = k + 1u) {
      acc = acc + dout[u32(csr[2u * P.U + 1u + k]) * P.C + c];
    }
    dtable[o] = acc;
  }
}`,
};
