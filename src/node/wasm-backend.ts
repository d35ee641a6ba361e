import type { Backend } from '../backend/backend.js';
import { defaultThreads, loadWasmBackend } from '../backend/wasm/node-wasm.js';
import type { BackendEntry } from './backends.js';

let loading: Promise<Backend | null> | null = null;

/**
 * The WebAssembly SIMD backend with a worker thread per extra core. Loaded once per process
 * (every caller shares the one thread pool); $YORICK_THREADS sets the thread count, and
 * YORICK_WASM=0 turns it off.
 */
export const wasmEntry: BackendEntry = {
  name: 'wasm',
  describe: `WebAssembly SIMD128 kernels on ${defaultThreads()} thread(s)`,
  load() {
    loading ??= (async () => {
      if (process.env.YORICK_WASM === '0') {
        wasmEntry.why = 'disabled by YORICK_WASM=0';
        return null;
      }
      try {
        return await loadWasmBackend();
      } catch (e) {
        wasmEntry.why = `it failed to load: ${(e as Error).message.split('\n')[0]}`;
        return null;
      }
    })();
    return loading;
  },
};
