import { SHADER_STAGE_COMPUTE } from './usage.js';

/**
 * A compute program: one WGSL entry point `main` with its storage buffers and its uniform
 * parameters declared once, here, so the WGSL declarations and the host's bind group and
 * uniform packing cannot disagree. The generated header is
 *
 *   struct Params { <params> }
 *   @group(0) @binding(0) var<uniform> P: Params;
 *   @group(0) @binding(1..) var<storage, read|read_write> <buffer>: array<f32|i32>;
 *
 * plus the WG constant (the workgroup size the program's code uses) and the helpers below.
 */
export interface ProgramSpec {
  /** Unique name: pipelines are cached under it. */
  name: string;
  /** Storage buffers in binding order: 'r' read-only f32, 'rw' read-write f32, 'ids' read-only i32. */
  buffers: readonly (readonly [string, 'r' | 'rw' | 'ids'])[];
  /** Uniform fields in order (each 4 bytes). */
  params: readonly (readonly [string, 'u32' | 'i32' | 'f32'])[];
  /** Workgroup size along x (the code's @workgroup_size should use WG). */
  wg: number;
  /** WGSL after the header: helpers, workgroup variables and `fn main`. */
  code: string;
}

/** Helpers every program may use. */
const PRELUDE = /* wgsl */ `
// the flat index of an invocation in a 2D grid of 1D workgroups (grids wider than 65535 groups fold into y)
fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * WG; }
`;

export function programSource(spec: ProgramSpec): string {
  const fields = spec.params.length ? spec.params.map(([n, t]) => `${n}: ${t}`).join(', ') : '_pad: u32';
  const decls = spec.buffers.map(([n, access], i) => {
    const mode = access === 'rw' ? 'read_write' : 'read';
    const type = access === 'ids' ? 'i32' : 'f32';
    return `@group(0) @binding(${i + 1}) var<storage, ${mode}> ${n}: array<${type}>;`;
  });
  return [`const WG: u32 = ${spec.wg}u;`, `struct Params { ${fields} }`, '@group(0) @binding(0) var<uniform> P: Params;',
    ...decls, PRELUDE, spec.code].join('\n');
}

/** A compiled program: its pipeline and the layout its bind groups use. */
export interface Program {
  spec: ProgramSpec;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Bytes of the uniform struct. */
  paramBytes: number;
}

/** Compiles programs once per device and name. */
export class ProgramCache {
  private readonly programs = new Map<string, Program>();
  constructor(private readonly device: GPUDevice) {}

  get(spec: ProgramSpec): Program {
    let p = this.programs.get(spec.name);
    if (!p) {
      p = this.compile(spec);
      this.programs.set(spec.name, p);
    }
    return p;
  }

  private compile(spec: ProgramSpec): Program {
    const { device } = this;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform' } },
      ...spec.buffers.map(([, access], i): GPUBindGroupLayoutEntry => ({
        binding: i + 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: access === 'rw' ? 'storage' : 'read-only-storage' },
      })),
    ];
    const layout = device.createBindGroupLayout({ label: spec.name, entries });
    const module = device.createShaderModule({ label: spec.name, code: programSource(spec) });
    const pipeline = device.createComputePipeline({
      label: spec.name,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const paramBytes = Math.max(4, spec.params.length * 4);
    return { spec, pipeline, layout, paramBytes: Math.ceil(paramBytes / 16) * 16 };
  }
}
