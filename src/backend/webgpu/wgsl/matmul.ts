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
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  let n0 = wid.x * 64u;
  for (var m0 = wid.y * 64u; m0 < P.M; m0 = m0 + nwg.y * 64u) {
    var acc: array<f32, 16>;
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
        var av: array<f32, 4>;
        var bv: array<f32, 4>;
        for (var r = 0u; r < 4u; r = r + 1u) { av[r] = As[kk * 64u + ty + 16u * r]; }
        for (var s = 0u; s < 4u; s = s + 1u) { bv[s] = Bs[kk * 64u + tx + 16u * s]; }
        for (var r = 0u; r < 4u; r = r + 1u) {
          for (var s = 0u; s < 4u; s = s + 1u) { acc[r * 4u + s] = acc[r * 4u + s] + av[r] * bv[s]; }
        }
      }
      workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r = r + 1u) {
      let m = m0 + ty + 16u * r;
      for (var s = 0u; s < 4u; s = s + 1u) {
        let n = n0 + tx + 16u * s;
        if (m < P.M && n < P.N) {
          let o = m * P.N + n;
          if (P.accumulate != 0u) { c[o] = c[o] + acc[r * 4u + s]; } else { c[o] = acc[r * 4u + s]; }
        }
      }
    }
  }
}`,
  };
}
