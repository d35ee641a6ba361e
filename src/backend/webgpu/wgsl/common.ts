import type { ProgramSpec } from '../program.js';

/** Workgroup sum and max of one value per invocation (WG a power of two; call from uniform control flow). */
export const WG_REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, WG>;
fn wgSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
const NEG_MAX: f32 = -0x1.fffffep+127f; // the lowest finite float32
`;

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
