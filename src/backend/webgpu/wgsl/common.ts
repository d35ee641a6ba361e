import type { ProgramSpec } from '../program.js';

/**
 * Workgroup sum and max of one value per invocation, in three barriers (WG a multiple of 8;
 * call from uniform control flow): lanes below WG/8 add eight values each, then every
 * invocation adds those partial results in order. Few barriers matter on software adapters,
 * where a barrier switches between every invocation of the group, and cost little on a GPU.
 */
export const WG_REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, WG>;
var<workgroup> red8: array<f32, WG / 8u>;
fn wgSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  if (lid < WG / 8u) {
    let o = lid * 8u;
    red8[lid] = ((red[o] + red[o + 1u]) + (red[o + 2u] + red[o + 3u])) + ((red[o + 4u] + red[o + 5u]) + (red[o + 6u] + red[o + 7u]));
  }
  workgroupBarrier();
  var r = 0.0;
  for (var i = 0u; i < WG / 8u; i = i + 1u) { r = r + red8[i]; }
  workgroupBarrier();
  return r;
}
fn wgMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  if (lid < WG / 8u) {
    let o = lid * 8u;
    red8[lid] = max(max(max(red[o], red[o + 1u]), max(red[o + 2u], red[o + 3u])), max(max(red[o + 4u], red[o + 5u]), max(red[o + 6u], red[o + 7u])));
  }
  workgroupBarrier();
  var r = red8[0];
  for (var i = 1u; i < WG / 8u; i = i + 1u) { r = max(r, red8[i]); }
  workgroupBarrier();
  return r;
}
const NEG_MAX: f32 = -0x1.fffffep+127f; // the lowest finite float32
`;

/** MurmurHash3's 32-bit finalizer, the device dropout stream's hash (see the contract's dropoutMask). */
export const FMIX32 = /* wgsl */ `
fn fmix32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x85ebca6bu;
  x = x ^ (x >> 13u);
  x = x * 0xc2b2ae35u;
  return x ^ (x >> 16u);
}`;

/** Threads per workgroup of the one-value-per-invocation kernels. */
export const FLAT_WG = 256;

/**
 * A kernel with one invocation per element i < P.n (P.n is its first param); `body` sees `i`.
 * The host dispatches it with flatGroups(n).
 */
export function flatProgram(name: string, buffers: ProgramSpec['buffers'], params: ProgramSpec['params'], body: string, helpers = ''): ProgramSpec {
  return {
    name, buffers, params: [['n', 'u32'], ...params], wg: FLAT_WG,
    code: `${helpers}
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= P.n) { return; }
  ${body}
}`,
  };
}

/** The grid for n flat invocations: at most 65535 groups along x, the rest folded into y. */
export function flatGroups(n: number, wg = FLAT_WG): [number, number] {
  const groups = Math.ceil(n / wg);
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

/** Workgroups for a loop over rows (each workgroup takes rows wid.x, wid.x + nwg.x, ...). */
export function rowGroups(rows: number): [number] {
  return [Math.min(rows, 65535)];
}
