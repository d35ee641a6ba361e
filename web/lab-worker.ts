// The page's Web Worker: a Lab (src/lab) behind a message port. It owns the model and the
// compute backend, so training and sampling never block the page. Backends, most preferred
// first; each factory throws when it cannot run here and the next is tried.
import { createThreadedWasmBackend, createWasmBackend, kernelsWasmUrl, webWorkerUrl } from '../src/backend/wasm/index.js';
import type { Backend } from '../src/backend/backend.js';
import { Lab } from '../src/lab/lab.js';
import { serveLab, type PortLike } from '../src/lab/rpc.js';
import { rankFilesFromUrl, TiktokenLoader } from '../src/tokenizers/tiktoken/load.js';

const scope = globalThis as unknown as PortLike & { crossOriginIsolated?: boolean; navigator: { hardwareConcurrency?: number } };

let kernels: Promise<Uint8Array> | null = null;
function kernelBytes(): Promise<Uint8Array> {
  kernels ??= fetch(kernelsWasmUrl).then(async (res) => {
    if (!res.ok) throw new Error(`could not fetch ${kernelsWasmUrl.href}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  });
  return kernels;
}

/** Threads for the wasm pool: the machine's cores (this worker is one of them), at most 8. */
function threadCount(): number {
  return Math.max(1, Math.min(8, scope.navigator.hardwareConcurrency ?? 2));
}

const backends: Record<string, () => Promise<{ backend: Backend; description: string }>> = {
  // A WebGPU backend plugs in here, first: 'webgpu': async () => createWebGpuBackend(...) (it throws where
  // navigator.gpu is missing, and the next entry is used).
  'wasm-threads': async () => {
    if (!scope.crossOriginIsolated) throw new Error('the page is not cross-origin isolated (no SharedArrayBuffer): serve it with COOP/COEP headers (yorick serve)');
    const n = threadCount();
    if (n < 2) throw new Error('one core: no threads to add');
    const workers = Array.from({ length: n - 1 }, () => new Worker(webWorkerUrl, { type: 'module' }));
    return { backend: await createThreadedWasmBackend(await kernelBytes(), workers, { canWait: true }), description: `wasm with ${n} threads` };
  },
  wasm: async () => ({ backend: await createWasmBackend(await kernelBytes()), description: 'wasm, single thread' }),
};

serveLab(scope, (emit) => new Lab({ backends, tiktoken: new TiktokenLoader(rankFilesFromUrl(new URL('./tiktoken/', import.meta.url))), emit }));
