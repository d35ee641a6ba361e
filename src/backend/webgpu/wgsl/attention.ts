// Causal self-attention with the probabilities materialized (att [B, H, T, T] is what the op
// saves for backward). A workgroup takes one query row (b, h, t) at a time. The flash-style
// form that never stores T x T is not done.
import type { ProgramSpec } from '../program.js';
import { WG_REDUCE } from './common.js';

export const ATTENTION_WG = 64;

const MAIN = '@compute @workgroup_size(WG)\nfn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32)';

/**
 * One query row against keys 0..last: scores into `s` (a row of att, or of a scratch buffer),
 * a stable softmax in place, then y = sum_j p_j v_j. The same text serves the full-sequence
 * kernel and the cached one, so a position gets bit-identical outputs from both.
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

/** out [B, T, C] and att [B, H, T, T] from qkv [B, T, 3C]; mask applied to the probabilities when hasMask. */
export const attention: ProgramSpec = {
  name: 'attention', buffers: [['out', 'rw'], ['att', 'rw'], ['qkv', 'r'], ['mask', 'r']],
  params: [['B', 'u32'], ['T', 'u32'], ['C', 'u32'], ['H', 'u32'], ['scale', 'f32'], ['hasMask', 'u32']], wg: ATTENTION_WG,
  code: `${WG_REDUCE}
${MAIN} {
  let T = P.T; let C = P.C; let hs = C / P.H; let C3 = 3u * C; let scale = P.scale;
  for (var row = wid.x; row < P.B * P.H * T; row = row + nwg.x) {
    let t = row % T; let bh = row / T; let h = bh % P.H; let b = bh / P.H;
    let qo = (b * T + t) * C3 + h * hs;
    let so = row * T;
    let yo = (b * T + t) * C + h * hs;
    let last = t;
    ${rowAttention('att', '(b * T + j) * C3 + C + h * hs', '(b * T + j) * C3 + 2u * C + h * hs',
    'select(att[so + j], att[so + j] * mask[so + j], P.hasMask != 0u)')}
  }
}`,
};

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

/**
 * Backward, pass 1 (a workgroup per query row): dp_j = (dout_t . v_j) * mask, the softmax's
 * backward ds_j = p_j (dp_j - sum p dp) * scale into ds [B, H, T, T], and dq_t += sum_j ds_j k_j.
 */
export const attentionBackwardQuery: ProgramSpec = {
  name: 'attentionBackwardQuery', buffers: [['dqkv', 'rw'], ['ds', 'rw'], ['dout', 'r'], ['qkv', 'r'], ['att', 'r'], ['mask', 'r']],
  params: [['B', 'u32'], ['T', 'u32'], ['C', 'u32'], ['H', 'u32'], ['scale', 'f32'], ['hasMask', 'u32']], wg: ATTENTION_WG,
  code: `${WG_REDUCE}
${MAIN} {
  let T = P.T; let C = P.C; let hs = C / P.H; let C3 = 3u * C;
  for (var row = wid.x; row < P.B * P.H * T; row = row + nwg.x) {
    let t = row % T; let bh = row / T; let h = bh % P.H; let b = bh / P.H;
    let so = row * T;
    let o = (b * T + t) * C + h * hs;
    var dot = 0.0;
    for (var j = lid; j <= t; j = j + WG) {
      let vo = (b * T + j) * C3 + 2u * C + h * hs;
      var d = 0.0;
      for (var i = 0u; i < hs; i = i + 1u) { d = d + dout[o + i] * qkv[vo + i]; }
      if (P.hasMask != 0u) { d = d * mask[so + j]; }
      ds[so + j] = d;
      dot = dot + att[so + j] * d;
    }
    dot = wgSum(dot, lid);
    for (var j = lid; j <= t; j = j + WG) { ds[so + j] = att[so + j] * (ds[so + j] - dot) * P.scale; }
    storageBarrier();
    let qo = (b * T + t) * C3 + h * hs;
    for (var i = lid; i < hs; i = i + WG) {
      var g = 0.0;
      for (var j = 0u; j <= t; j = j + 1u) { g = g + ds[so + j] * qkv[(b * T + j) * C3 + C + h * hs + i]; }
      dqkv[qo + i] = dqkv[qo + i] + g;
    }
    storageBarrier();
  }
}`,
};

/**
 * Backward, pass 2 (a workgroup per key row j): dk_j += sum_{t >= j} ds[t, j] q_t and
 * dv_j += sum_{t >= j} p[t, j] mask[t, j] dout_t.
 */
export const attentionBackwardKeyValue: ProgramSpec = {
  name: 'attentionBackwardKeyValue', buffers: [['dqkv', 'rw'], ['ds', 'r'], ['dout', 'r'], ['qkv', 'r'], ['att', 'r'], ['mask', 'r']],
  params: [['B', 'u32'], ['T', 'u32'], ['C', 'u32'], ['H', 'u32'], ['hasMask', 'u32']], wg: ATTENTION_WG,
  code: `
${MAIN} {
  let T = P.T; let C = P.C; let hs = C / P.H; let C3 = 3u * C;
  for (var row = wid.x; row < P.B * P.H * T; row = row + nwg.x) {
    let j = row % T; let bh = row / T; let h = bh % P.H; let b = bh / P.H;
    for (var i = lid; i < hs; i = i + WG) {
      var dk = 0.0;
      var dv = 0.0;
      for (var t = j; t < T; t = t + 1u) {
        let a = (bh * T + t) * T + j;
        var p = att[a];
        if (P.hasMask != 0u) { p = p * mask[a]; }
        dk = dk + ds[a] * qkv[(b * T + t) * C3 + h * hs + i];
        dv = dv + p * dout[(b * T + t) * C + h * hs + i];
      }
      let ko = (b * T + j) * C3 + C + h * hs;
      dqkv[ko + i] = dqkv[ko + i] + dk;
      dqkv[ko + C + i] = dqkv[ko + C + i] + dv;
    }
  }
}`,
};
