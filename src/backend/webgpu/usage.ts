// WebGPU's flag values (fixed by the spec), so the backend does not need the GPUBufferUsage,
// GPUShaderStage and GPUMapMode globals that a browser has and Node does not.
export const BufferUsage = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
export const SHADER_STAGE_COMPUTE = 4;
export const MAP_MODE_READ = 1;
