/**
 * The exports of the kernel module (wasm/assembly/index.ts), as JavaScript sees them. Pointers
 * are byte offsets into the shared memory; booleans are 0 or 1. A kernel that ends in
 * (part, nparts) computes the part-th share of its output and can run on every thread at once.
 */
export interface KernelExports {
  heapBase(): number;
  zero(p: number, n: number): void;
  matmulScratchBytes(M: number, N: number, K: number): number;
  attentionScratchBytes(T: number, C: number, H: number): number;
  sumSquares(x: number, n: number): number;
  layerNormBackward(dx: number, dw: number, db: number, dout: number, x: number, w: number, mean: number, rstd: number,
    N: number, C: number): void;
  embeddingBackward(dtable: number, dout: number, ids: number, N: number, C: number): void;
}

/** The kernels that split across threads, by index: the thread pool sends the index, not the name. */
export const parallelKernels = [
  'matmul', 'addBroadcast', 'sumRowsInto', 'axpy', 'scale', 'mul', 'mulBackward', 'gelu', 'geluBackward', 'adamw',
  'layerNorm', 'embedding', 'softmax', 'crossEntropy', 'crossEntropyBackward', 'attention', 'attentionBackward', 'zeroRange',
] as const;

export type ParallelKernel = (typeof parallelKernels)[number];

/** A parallel kernel: its own arguments, then part and nparts. */
export type PartKernel = (...args: number[]) => void;

/** Instantiates the kernel module on a memory (every thread does this with the same memory). */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<WebAssembly.Instance> {
  return WebAssembly.instantiate(module, { env: { memory } });
}

/**
 * The module's bytes with its memory import made unshared: for a single thread where
 * SharedArrayBuffer is unavailable (a browser page that is not cross-origin isolated). The
 * kernels use no atomics, so only the import's limits flag changes (0x03 shared+max -> 0x01 max).
 */
export function unsharedModuleBytes(bytes: Uint8Array): Uint8Array {
  // import entry: "env" "memory" kind=2 (memory) flags
  const needle = [3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 3];
  const out = Uint8Array.from(bytes);
  outer: for (let i = 0; i + needle.length <= out.length; i++) {
    for (let j = 0; j < needle.length; j++) if (out[i + j] !== needle[j]) continue outer;
    out[i + needle.length - 1] = 1;
    return out;
  }
  throw new Error('kernel module has no shared env.memory import to unshare');
}
