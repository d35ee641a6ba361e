// Causal self-attention. Training runs flash-attention style (FlashAttention-2's forward and its
// backward split into a key/value pass and a query pass, so no float atomics are needed): tiles
// of queries and keys meet in workgroup memory, the softmax is taken online, the forward saves
// only each row's log-sum-exp, and the backward recomputes the probabilities tile by tile.
// Nothing of size T x T is stored: a dropout from the device stream is computed where it is used
// (a mask buffer, the torch stream's, is read). The sampling path
// (cachedAttention) takes one query row per workgroup.
import type { ProgramSpec } from '../program.js';
import { flatProgram, FMIX32, WG_REDUCE } from './common.js';

export const ATTENTION_WG = 64;

const MAIN = '@compute @workgroup_size(WG)\nfn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32)';

/**
 * One query row against keys 0..last (the cached path): scores into `s` (a row of att, or of a scratch buffer),
 * a stable softmax in place, then y = sum_j p_j v_j.
 * Expects: qo, keyAt(j), valueAt(j), so (row offset in s), yo, last, hs, maskExpr(j).
 */
function rowAttention(s: string, keyAt: string, valueAt: string, maskExpr: string): string {
  return `
    var mx = NEG_MAX;
    for (var j = lid; j <= last; j = j + WG) {
      let ko = ${keyAt};
      var d = 0.0;
      for (var i = 0u; i < hs; i = i + 1u) { d = d + qkv[qo + i] * ${s === 'att' ? 'qkv' : 'kc'}[ko + i]; }
      d = d * scale;
      ${s}[so + j] = d;
      mx = max(mx, d);
    }
    mx = wgMax(mx, lid);
    var sum = 0.0;
    for (var j = lid; j <= last; j = j + WG) {
      let e = exp(${s}[so + j] - mx);
      ${s}[so + j] = e;
      sum = sum + e;
    }
    sum = wgSum(sum, lid);
    for (var j = lid; j <= last; j = j + WG) { ${s}[so + j] = ${s}[so + j] / sum; }
    storageBarrier();
    for (var i = lid; i < hs; i = i + WG) {
      var y = 0.0;
      for (var j = 0u; j <= last; j = j + 1u) { y = y + ${maskExpr} * ${s === 'att' ? 'qkv' : 'vc'}[${valueAt} + i]; }
      out[yo + i] = y;
    }
    storageBarrier();`;
}

/**
 * The new positions qkv [B, Tn, 3C] (absolute positions T0..) over the cached k, v [B, maxT, C];
 * scores in scratch [B, H, Tn, T0 + Tn].
 */
export const cachedAttention: ProgramSpec = {
  name: 'cachedAttention', buffers: [['out', 'rw'], ['scores', 'rw'], ['qkv', 'r'], ['kc', 'r'], ['vc', 'r']],
  params: [['B', 'u32'], ['Tn', 'u32'], ['C', 'u32'], ['H', 'u32'], ['T0', 'u32'], ['maxT', 'u32'], ['scale', 'f32']], wg: ATTENTION_WG,
  code: `${WG_REDUCE}
${MAIN} {
  let Tn = P.Tn; let C = P.C; let hs = C / P.H; let C3 = 3u * C; let scale = P.scale; let L = P.T0 + Tn;
  for (var row = wid.x; row < P.B * P.H * Tn; row = row + nwg.x) {
    let t = row % Tn; let bh = row / Tn; let h = bh % P.H; let b = bh / P.H;
    let qo = (b * Tn + t) * C3 + h * hs;
    let so = row * L;
    let yo = (b * Tn + t) * C + h * hs;
    let last = P.T0 + t;
    ${rowAttention('scores', '(b * P.maxT + j) * C + h * hs', '(b * P.maxT + j) * C + h * hs', 'scores[so + j]')}
  }
}`,
};


/** Head dimensions per tile: dot products run over hs in chunks of HD; outputs are HD-column slices (one workgroup each). */
export const HD = 64;

/** The number of HD-wide chunks (and output slices) of a head of hs dimensions. */
export function headSlices(hs: number): number {
  return Math.ceil(hs / HD);
}

/**
 * WGSL that fills tile[R * HD] with rows pos0 .. pos0 + R - 1 (sequence positions) of one head's
 * q (part 0), k (1) or v (2) of qkv, or of a [B, T, C] tensor (part -1), columns col0 .. col0 + HD
 * of the head; zeros past T or hs. Expects b, h, T, C, hs, C3 and lid in scope.
 */
function loadTile(tile: string, R: number, src: string, part: number, pos0: string, col0: string): string {
  const row = part < 0 ? '(b * T + pos) * C' : `(b * T + pos) * C3 + ${part}u * C`;
  return `for (var e = lid; e < ${R * HD}u; e = e + WG) {
        let pos = ${pos0} + e / ${HD}u; let col = ${col0} + e % ${HD}u;
        var x = 0.0;
        if (pos < T && col < hs) { x = ${src}[${row} + h * hs + col]; }
        ${tile}[e] = x;
      }`;
}

/** dropMode: 0 none, 1 the mask buffer, 2 the device stream keyed (key0, key1) with threshold and keep (dropoutThreshold's). */
const FLASH_PARAMS = [['B', 'u32'], ['T', 'u32'], ['C', 'u32'], ['H', 'u32'], ['scale', 'f32'], ['dropMode', 'u32'],
  ['threshold', 'u32'], ['keep', 'f32'], ['key0', 'u32'], ['key1', 'u32']] as const;

/** Header of the three flash kernels: the grid is (blocks x slices, B * H). */
const FLASH_MAIN = `@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let T = P.T; let C = P.C; let hs = C / P.H; let C3 = 3u * C;
  let nS = (hs + ${HD}u - 1u) / ${HD}u;
  let blk = wid.x / nS; let sl = wid.x % nS;`;

/** Dropout factor of probability (i, j) of head bh: 1, mask[bh, i, j], or the device stream's element there. */
const MASK_AT = `${FMIX32}
fn maskAt(bh: u32, i: u32, j: u32) -> f32 {
  if (P.dropMode == 0u) { return 1.0; }
  let e = (bh * P.T + i) * P.T + j;
  if (P.dropMode == 1u) { return mask[e]; }
  return select(P.keep, 0.0, (fmix32(fmix32(e ^ P.key0) ^ P.key1) >> 8u) < P.threshold);
}`;

/**
 * Forward: a workgroup of 16 x 16 invocations takes 16 queries (one per row of invocations) and
 * walks the key blocks of 16 up to the diagonal. Invocation (r, c) computes score (r, c); each row
 * keeps its running max m and sum l, rescaling its 4 output columns (c + 16u of the slice) as m
 * grows. Writes out [B, T, C] and lse [B, H, T] = m + log l.
 */
export const flashAttention: ProgramSpec = {
  name: 'flashAttention', buffers: [['out', 'rw'], ['lse', 'rw'], ['qkv', 'r'], ['mask', 'r']], params: FLASH_PARAMS, wg: 256,
  code: `
var<workgroup> qs: array<f32, ${16 * HD}>;
var<workgroup> ks: array<f32, ${16 * HD}>;
var<workgroup> vs: array<f32, ${16 * HD}>;
var<workgroup> ps: array<f32, 256>;
var<workgroup> pm: array<f32, 256>;
const NEG_MAX: f32 = -0x1.fffffep+127f;
${MASK_AT}
${FLASH_MAIN}
  let r = lid / 16u; let c = lid % 16u;
  let q0 = blk * 16u; let i = q0 + r;
  let lastKey = min(q0 + 15u, T - 1u);
  for (var bh = wid.y; bh < P.B * P.H; bh = bh + nwg.y) {
    let b = bh / P.H; let h = bh % P.H;
    var m = NEG_MAX; var l = 0.0;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    if (nS == 1u) { ${loadTile('qs', 16, 'qkv', 0, 'q0', '0u')} }
    for (var k0 = 0u; k0 <= lastKey; k0 = k0 + 16u) {
      var s = 0.0;
      for (var ch = 0u; ch < nS; ch = ch + 1u) {
        if (nS > 1u) { ${loadTile('qs', 16, 'qkv', 0, 'q0', 'ch * ' + HD + 'u')} }
        ${loadTile('ks', 16, 'qkv', 1, 'k0', 'ch * ' + HD + 'u')}
        workgroupBarrier();
        for (var d = 0u; d < ${HD}u; d = d + 1u) { s = s + qs[r * ${HD}u + d] * ks[c * ${HD}u + d]; }
        workgroupBarrier();
      }
      let j = k0 + c;
      let valid = j <= i && i < T;
      s = select(NEG_MAX, s * P.scale, valid);
      ps[lid] = s;
      ${loadTile('vs', 16, 'qkv', 2, 'k0', 'sl * ' + HD + 'u')}
      workgroupBarrier();
      var mx = NEG_MAX;
      for (var jj = 0u; jj < 16u; jj = jj + 1u) { mx = max(mx, ps[r * 16u + jj]); }
      let mnew = max(m, mx);
      workgroupBarrier();
      var e = 0.0;
      var dm = 1.0;
      if (valid) { e = exp(s - mnew); dm = maskAt(bh, i, j); }
      ps[lid] = e;
      pm[lid] = e * dm;
      workgroupBarrier();
      let alpha = exp(m - mnew);
      var rs = 0.0;
      for (var jj = 0u; jj < 16u; jj = jj + 1u) { rs = rs + ps[r * 16u + jj]; }
      l = l * alpha + rs;
      for (var u = 0u; u < 4u; u = u + 1u) {
        var a = 0.0;
        for (var jj = 0u; jj < 16u; jj = jj + 1u) { a = a + pm[r * 16u + jj] * vs[jj * ${HD}u + c + 16u * u]; }
        acc[u] = acc[u] * alpha + a;
      }
      m = mnew;
      workgroupBarrier();
    }
    if (i < T) {
      for (var u = 0u; u < 4u; u = u + 1u) {
        let col = sl * ${HD}u + c + 16u * u;
        if (col < hs) { out[(b * T + i) * C + h * hs + col] = acc[u] / l; }
      }
      if (sl == 0u && c == 0u) { lse[bh * T + i] = m + log(l); }
    }
  }
}`,
};

/** Backward, first: rowDot[b, h, t] = dout_t . out_t over the head (FlashAttention-2's D = rowsum(dO * O)). */
export const attentionRowDot = flatProgram('attentionRowDot', [['rowDot', 'rw'], ['dout', 'r'], ['out', 'r']], [['T', 'u32'], ['C', 'u32'], ['H', 'u32']], `
  let hs = P.C / P.H; let t = i % P.T; let bh = i / P.T;
  let o = ((bh / P.H) * P.T + t) * P.C + (bh % P.H) * hs;
  var s = 0.0;
  for (var d = 0u; d < hs; d = d + 1u) { s = s + dout[o + d] * out[o + d]; }
  rowDot[i] = s;`);

/**
 * The recomputed probability of score s at (i, j) and its score gradient, into p, dropped p (pd)
 * and ds; zeros where j > i or i >= T. Expects s, dp (= dout_i . v_j), i, j, bh, T in scope.
 */
const SCORE_GRADIENT = `
      var p = 0.0; var pd = 0.0; var dsv = 0.0;
      if (j <= i && i < T) {
        let row = bh * T + i;
        p = exp(s * P.scale - lse[row]);
        let dm = maskAt(bh, i, j);
        pd = p * dm;
        dsv = p * (dp * dm - rowDot[row]) * P.scale;
      }`;

/**
 * WGSL: s = q_a . k_c and dp = dout_a . v_c over the head, chunk by chunk, for invocation (a, c) of
 * a block of qRows queries and kRows keys. The tiles of the side the workgroup walks over are
 * loaded every chunk; those of its own block (`own`) only when the head has several chunks (with
 * one, the kernel loads them once, before its walk).
 */
function scoreDots(qRows: number, kRows: number, own: 'queries' | 'keys'): string {
  const chunk = `ch * ${HD}u`;
  const q = `${loadTile('qs', qRows, 'qkv', 0, 'q0', chunk)}\n${loadTile('dos', qRows, 'dout', -1, 'q0', chunk)}`;
  const k = `${loadTile('ks', kRows, 'qkv', 1, 'k0', chunk)}\n${loadTile('vs', kRows, 'qkv', 2, 'k0', chunk)}`;
  const [fixed, walked] = own === 'keys' ? [k, q] : [q, k];
  return `var s = 0.0; var dp = 0.0;
      for (var ch = 0u; ch < nS; ch = ch + 1u) {
        ${walked}
        if (nS > 1u) { ${fixed} }
        workgroupBarrier();
        for (var d = 0u; d < ${HD}u; d = d + 1u) {
          s = s + qs[a * ${HD}u + d] * ks[c * ${HD}u + d];
          dp = dp + dos[a * ${HD}u + d] * vs[c * ${HD}u + d];
        }
        workgroupBarrier();
      }`;
}

const BACKWARD_BUFFERS = [['dqkv', 'rw'], ['dout', 'r'], ['qkv', 'r'], ['lse', 'r'], ['rowDot', 'r'], ['mask', 'r']] as const;

/**
 * Backward, keys and values: a workgroup of 128 takes 16 keys and walks the query blocks of 8 from
 * the diagonal down. Invocation (a, c) = (lid / 16, lid % 16) computes score (query a, key c);
 * then invocation (r, cc) = (lid / 8, lid % 8) adds into key r's 8 columns cc + 8u of dk and dv.
 */
export const flashAttentionBackwardKeyValue: ProgramSpec = {
  name: 'flashAttentionBackwardKeyValue', buffers: BACKWARD_BUFFERS, params: FLASH_PARAMS, wg: 128,
  code: `
var<workgroup> qs: array<f32, ${8 * HD}>;
var<workgroup> dos: array<f32, ${8 * HD}>;
var<workgroup> ks: array<f32, ${16 * HD}>;
var<workgroup> vs: array<f32, ${16 * HD}>;
var<workgroup> dss: array<f32, 128>;
var<workgroup> pds: array<f32, 128>;
${MASK_AT}
${FLASH_MAIN}
  let a = lid / 16u; let c = lid % 16u; let r = lid / 8u; let cc = lid % 8u;
  let k0 = blk * 16u; let j = k0 + c;
  for (var bh = wid.y; bh < P.B * P.H; bh = bh + nwg.y) {
    let b = bh / P.H; let h = bh % P.H;
    var dk = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    var dv = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    if (nS == 1u) {
      ${loadTile('ks', 16, 'qkv', 1, 'k0', '0u')}
      ${loadTile('vs', 16, 'qkv', 2, 'k0', '0u')}
    }
    for (var q0 = (k0 / 8u) * 8u; q0 < T; q0 = q0 + 8u) {
      let i = q0 + a;
      ${scoreDots(8, 16, 'keys')}
      ${SCORE_GRADIENT}
      dss[lid] = dsv;
      pds[lid] = pd;
      if (nS > 1u) {
        ${loadTile('qs', 8, 'qkv', 0, 'q0', 'sl * ' + HD + 'u')}
        ${loadTile('dos', 8, 'dout', -1, 'q0', 'sl * ' + HD + 'u')}
      }
      workgroupBarrier();
      for (var u = 0u; u < 8u; u = u + 1u) {
        let col = cc + 8u * u;
        var gk = 0.0; var gv = 0.0;
        for (var aa = 0u; aa < 8u; aa = aa + 1u) {
          gk = gk + dss[aa * 16u + r] * qs[aa * ${HD}u + col];
          gv = gv + pds[aa * 16u + r] * dos[aa * ${HD}u + col];
        }
        dk[u] = dk[u] + gk;
        dv[u] = dv[u] + gv;
      }
      workgroupBarrier();
    }
    let jr = k0 + r;
    if (jr < T) {
      for (var u = 0u; u < 8u; u = u + 1u) {
        let col = sl * ${HD}u + cc + 8u * u;
        if (col < hs) {
          let o = (b * T + jr) * C3 + C + h * hs + col;
          dqkv[o] = dqkv[o] + dk[u];
          dqkv[o + C] = dqkv[o + C] + dv[u];
        }
      }
    }
  }
}`,
};

/**
 * Backward, queries: a workgroup of 128 takes 16 queries and walks the key blocks of 8 up to the
 * diagonal. Invocation (a, c) = (lid / 8, lid % 8) computes score (query a, key c), then adds
 * into query a's 8 columns c + 8u of dq.
 */
export const flashAttentionBackwardQuery: ProgramSpec = {
  name: 'flashAttentionBackwardQuery', buffers: BACKWARD_BUFFERS, params: FLASH_PARAMS, wg: 128,
  code: `
var<workgroup> qs: array<f32, ${16 * HD}>;
var<workgroup> dos: array<f32, ${16 * HD}>;
var<workgroup> ks: array<f32, ${8 * HD}>;
var<workgroup> vs: array<f32, ${8 * HD}>;
var<workgroup> dss: array<f32, 128>;
${MASK_AT}
${FLASH_MAIN}
  let a = lid / 8u; let c = lid % 8u;
  let q0 = blk * 16u; let i = q0 + a;
  let lastKey = min(q0 + 15u, T - 1u);
  for (var bh = wid.y; bh < P.B * P.H; bh = bh + nwg.y) {
    let b = bh / P.H; let h = bh % P.H;
    var dq = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    if (nS == 1u) {
      ${loadTile('qs', 16, 'qkv', 0, 'q0', '0u')}
      ${loadTile('dos', 16, 'dout', -1, 'q0', '0u')}
    }
    for (var k0 = 0u; k0 <= lastKey; k0 = k0 + 8u) {
      let j = k0 + c;
      ${scoreDots(16, 8, 'queries')}
      ${SCORE_GRADIENT}
      dss[lid] = dsv;
      if (nS > 1u) { ${loadTile('ks', 8, 'qkv', 1, 'k0', 'sl * ' + HD + 'u')} }
      workgroupBarrier();
      for (var u = 0u; u < 8u; u = u + 1u) {
        var g = 0.0;
        for (var cj = 0u; cj < 8u; cj = cj + 1u) { g = g + dss[a * 8u + cj] * ks[cj * ${HD}u + c + 8u * u]; }
        dq[u] = dq[u] + g;
      }
      workgroupBarrier();
    }
    if (i < T) {
      for (var u = 0u; u < 8u; u = u + 1u) {
        let col = sl * ${HD}u + c + 8u * u;
        if (col < hs) {
          let o = (b * T + i) * C3 + h * hs + col;
          dqkv[o] = dqkv[o] + dq[u];
        }
      }
    }
  }
}`,
};

/** att [B, H, T, T] = exp(q_i . k_j * scale - lse[i]) for j <= i, else 0 (inspection only). */
export const attentionProbs = flatProgram('attentionProbs', [['att', 'rw'], ['lse', 'r'], ['qkv', 'r']], [['T', 'u32'], ['C', 'u32'], ['H', 'u32'], ['scale', 'f32']], `
  let T = P.T; let hs = P.C / P.H; let C3 = 3u * P.C;
  let j = i % T; let row = i / T; let t = row % T; let bh = row / T; let b = bh / P.H; let h = bh % P.H;
  var p = 0.0;
  if (j <= t) {
    let qo = (b * T + t) * C3 + h * hs; let ko = (b * T + j) * C3 + P.C + h * hs;
    var s = 0.0;
    for (var d = 0u; d < hs; d = d + 1u) { s = s + qkv[qo + d] * qkv[ko + d]; }
    p = exp(s * P.scale - lse[row]);
  }
  att[i] = p;`);
