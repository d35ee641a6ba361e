import { instantiateKernels, unsharedModuleBytes } from './kernels.js';
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
