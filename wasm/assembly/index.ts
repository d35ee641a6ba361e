// The kernel module: everything the WebAssembly backend calls. Memory is imported (shared when
// threads are used); JavaScript owns the heap above heapBase() and passes byte offsets.
export { KC, matmul, matmulScratchBytes } from './matmul';
export { addBroadcast, adamw, axpy, gelu, geluBackward, mul, mulBackward, scale, sumRowsInto, sumSquares } from './elementwise';
export { crossEntropy, crossEntropyBackward, embedding, embeddingBackward, layerNorm, layerNormBackward, softmax } from './rows';
export { attention, attentionBackward, attentionScratchBytes } from './attention';

/** The first byte after the module's static data: the JavaScript heap starts here. */
export function heapBase(): usize {
  return __heap_base;
}

/** Zeroes n bytes at p (memory.fill). */
export function zero(p: usize, n: usize): void {
  memory.fill(p, 0, n);
}

/** The part-th of nparts 64-byte aligned shares of zeroing n bytes at p. */
export function zeroRange(p: usize, n: usize, part: i32, nparts: i32): void {
  const chunk = ((n + <usize>nparts - 1) / <usize>nparts + 63) & ~(<usize>63);
  const s = min(n, <usize>part * chunk), e = min(n, s + chunk);
  if (e > s) memory.fill(p + s, 0, e - s);
}
