// Node glue for the WebAssembly backend: the kernel module from disk, worker_threads for the pool.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Backend } from '../backend.js';
import type { BackendEntry } from '../../node/backends.js';
import { INITIAL_PAGES, MAXIMUM_PAGES } from './create.js';
import { instantiateKernels } from './kernels.js';
import { CONTROL_BYTES, ThreadPool } from './pool.js';
import { WasmBackend } from './wasm-backend.js';

export const kernelsUrl = new URL('./kernels.wasm', import.meta.url);

/**
 * Threads to use: the option, else $YORICK_THREADS, else one per core the process may use.
 */
export function defaultThreads(): number {
  const env = Number(process.env.YORICK_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : availableParallelism();
}

/** The WebAssembly backend with a pool of threads - 1 workers (none when threads is 1). */
export async function loadWasmBackend(opts: { threads?: number } = {}): Promise<WasmBackend> {
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const module = await WebAssembly.compile(await readFile(kernelsUrl));
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
  const instance = await instantiateKernels(module, memory);
  if (threads === 1) return new WasmBackend(instance, memory, null);
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const workers = threads - 1;
  const spawned = Array.from({ length: workers }, (_, i) => new Worker(new URL('./node-worker.js', import.meta.url), {
    workerData: { module, memory, control, thread: i + 1 },
  }));
  await Promise.all(spawned.map((w) => new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  })));
  // the pool must not keep the process alive
  for (const w of spawned) w.unref();
  const pool = new ThreadPool(control, workers, true, () => {
    for (const w of spawned) void w.terminate();
  });
  return new WasmBackend(instance, memory, pool);
}

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
