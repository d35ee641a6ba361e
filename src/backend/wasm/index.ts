// The WebAssembly backend for browsers (`yorick/wasm`): fetch the kernels, create the backend
// (single-threaded, or over Web Workers running `yorick/wasm/web-worker` on a cross-origin
// isolated page), then pass it as the `backend` of models and tensors or setDefaultBackend(it).
export { createWasmBackend, createThreadedWasmBackend, type WorkerLike } from './create.js';
export { WasmBackend } from './wasm-backend.js';

/** Where the kernel module sits beside this file (bundlers that follow `new URL(..., import.meta.url)` copy it). */
export const kernelsWasmUrl: URL = new URL('./kernels.wasm', import.meta.url);
/** The script each Web Worker of createThreadedWasmBackend runs. */
export const webWorkerUrl: URL = new URL('./web-worker.js', import.meta.url);
