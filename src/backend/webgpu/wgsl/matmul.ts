import type { ProgramSpec } from '../program.js';

/** Output tile of one workgroup (TILE x TILE), depth of the shared-memory tiles along K. */
export const TILE = 64;
const TK = 16;

/**
 * c[M, N] = (accumulate ? c : 0) + op(a) @ op(b), one program per (transA, transB).
 * A workgroup of 256 invocations computes a 64 x 64 tile of c, each invocation a 4 x 4 block
 * of it (rows ty + 16 r, columns tx + 16 s) in registers; tiles of op(a) [64 x 16] and
 * op(b) [16 x 64] are staged in workgroup memory, loaded so that neighbouring invocations read
 * neighbouring addresses. Every c[i, j] sums k = 0 .. K-1 in order, whatever M is, so a
 * row's result does not depend on how many rows are computed with it (cached decoding
 * reproduces full-sequence logits exactly).
 */
export function matmulProgram(transA: boolean, transB: boolean): ProgramSpec {
  // A tile element e (0..1023) -> (row mm, depth kk); contiguous in memory along k unless transA
  const aIndex = transA ? 'let kk = e / 64u; let mm = e % 64u;' : 'let mm = e / 16u; let kk = e % 16u;';
  const aLoad = transA ? 'a[(k0 + kk) * P.M + m0 + mm]' : 'a[(m0 + mm) * P.K + k0 + kk]';
  const bIndex = transB ? 'let nn = e / 16u; let kk = e % 16u;' : 'let kk = e / 64u; let nn = e % 64u;';
  const bLoad = transB ? 'b[(n0 + nn) * P.K + k0 + kk]' : 'b[(k0 + kk) * P.N + n0 + nn]';
  return {
    name: `matmul${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`,
    buffers: [['c', 'rw'], ['a', 'r'], ['b', 'r']],
    params: [['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['accumulate', 'u32']],
    wg: 256,
    code: /* wgsl */ `
const TK: u32 = ${TK}u;
var<workgroup> As: array<f32, ${TILE * TK}>; // [TK][64]
var<workgroup> Bs: array<f32, ${TILE * TK}>; // [TK][64]
// c[m, n + 16 s] for s = 0..3, from the lanes of v
fn store(m: u32, n: u32, v: vec4<f32>) {
  if (m >= P.M) { return; }
  for (var s = 0u; s < 4u; s = s + 1u) {
    let col = n + 16u * s;
    if (col < P.N) {
      let o = m * P.N + col;
      if (P.accumulate != 0u) { c[o] = c[o] + v[s]; } else { c[o] = v[s]; }
    }
  }
}
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  let n0 = wid.x * 64u;
  for (var m0 = wid.y * 64u; m0 < P.M; m0 = m0 + nwg.y * 64u) {
    // acc<r>: row ty + 16 r, columns tx + 16 s in lanes s = 0..3
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < P.K; k0 = k0 + TK) {
      for (var q = 0u; q < 4u; q = q + 1u) {
        let e = lid + q * 256u;
        {
          ${aIndex}
          var v = 0.0;
          if (m0 + mm < P.M && k0 + kk < P.K) { v = ${aLoad}; }
          As[kk * 64u + mm] = v;
        }
        {
          ${bIndex}
          var v = 0.0;
          if (n0 + nn < P.N && k0 + kk < P.K) { v = ${bLoad}; }
          Bs[kk * 64u + nn] = v;
        }
      }
      workgroupBarrier();
      let kEnd = min(TK, P.K - k0);
      for (var kk = 0u; kk < kEnd; kk = kk + 1u) {
        let ao = kk * 64u + ty;
        let bo = kk * 64u + tx;
        let a = vec4<f32>(As[ao], As[ao + 16u], As[ao + 32u], As[ao + 48u]);
        let b = vec4<f32>(Bs[bo], Bs[bo + 16u], Bs[bo + 32u], Bs[bo + 48u]);
        acc0 = acc0 + a.x * b;
        acc1 = acc1 + a.y * b;
        acc2 = acc2 + a.z * b;
        acc3 = acc3 + a.w * b;
      }
      workgroupBarrier();
    }
    store(m0 + ty, n0 + tx, acc0);
    store(m0 + ty + 16u, n0 + tx, acc1);
    store(m0 + ty + 32u, n0 + tx, acc2);
    store(m0 + ty + 48u, n0 + tx, acc3);
  }
}`,
  };
}
