import { instantiateKernels, unsharedModuleBytes } from './kernels.js';
import { CONTROL_BYTES, ThreadPool } from './pool.js';
import { WasmBackend } from './wasm-backend.js';

/** Pages (64 KiB) the memory starts with and may grow to (4 GiB, the wasm32 limit). */
export const INITIAL_PAGES = 256;
export const MAXIMUM_PAGES = 65536;

/** Pages of an unshared memory, all reserved up front (1 GiB): growing one would detach every view. */
export const UNSHARED_PAGES = 16384;

/**
 * A single-threaded WebAssembly backend from the kernel module's bytes (fetched in a browser,
 * read from disk in Node). Uses shared memory when SharedArrayBuffer exists (it grows without
 * invalidating the Float32Array views handed out); otherwise an unshared copy of the module on a
 * fixed-size memory of `pages` 64 KiB pages.
 */
export async function createWasmBackend(bytes: Uint8Array, opts: { shared?: boolean; pages?: number } = {}): Promise<WasmBackend> {
  const shared = opts.shared ?? typeof SharedArrayBuffer !== 'undefined';
  const module = await WebAssembly.compile(shared ? bytes : unsharedModuleBytes(bytes));
  const fixed = opts.pages ?? UNSHARED_PAGES;
  const memory = new WebAssembly.Memory(shared ? { initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared }
    : { initial: fixed, maximum: fixed });
  return new WasmBackend(await instantiateKernels(module, memory), memory, null);
}

/** What createThreadedWasmBackend needs of a Web Worker running web-worker.js. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void, options?: { once?: boolean }): void;
  terminate(): void;
}

/**
 * A WebAssembly backend whose kernels also run on the given Web Workers (each started from
 * web-worker.js), over shared memory: needs SharedArrayBuffer (a cross-origin isolated page).
 * On a page's main thread Atomics.wait is not allowed, so the caller spins while workers finish
 * (canWait false); inside a worker of its own it may block (canWait true).
 */
export async function createThreadedWasmBackend(bytes: Uint8Array, workers: WorkerLike[], opts: { canWait?: boolean } = {}): Promise<WasmBackend> {
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('threads need SharedArrayBuffer (serve the page cross-origin isolated)');
  const module = await WebAssembly.compile(bytes);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  await Promise.all(workers.map((w, i) => new Promise<void>((resolve) => {
    w.addEventListener('message', () => resolve(), { once: true });
    w.postMessage({ module, memory, control, thread: i + 1 });
  })));
  const pool = new ThreadPool(control, workers.length, opts.canWait ?? false, () => workers.forEach((w) => w.terminate()));
  return new WasmBackend(await instantiateKernels(module, memory), memory, pool);
}
