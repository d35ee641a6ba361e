// The page's Web Worker: a Lab (src/lab) behind a message port. It owns the model and the
// compute backend, so training and sampling never block the page. Backends, most preferred
// first; each factory throws when it cannot run here and the next is tried. Like the CLI's
// `--device=auto`, the page's auto takes WebGPU only on a hardware adapter: a software one
// (SwiftShader, llvmpipe) is slower than wasm, and is used only when the visitor picks webgpu.
import { createThreadedWasmBackend, createWasmBackend, kernelsWasmUrl, webWorkerUrl } from '../src/backend/wasm/index.js';
import type { Backend } from '../src/backend/backend.js';
import { describeAdapter, isSoftwareAdapter, requestAdapter, requestDevice, WebGpuBackend } from '../src/backend/webgpu/index.js';
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

const backends: Record<string, (opts: { auto: boolean }) => Promise<{ backend: Backend; description: string }>> = {
  webgpu: async ({ auto }) => {
    const adapter = await requestAdapter(); // throws where navigator.gpu or an adapter is missing
    const name = describeAdapter(adapter.info);
    if (auto && isSoftwareAdapter(adapter.info, adapter.info.isFallbackAdapter)) {
      throw new Error(`${name} is a software adapter, slower than wasm (pick webgpu on the Train tab to use it anyway)`);
    }
    return { backend: new WebGpuBackend(await requestDevice(adapter), { adapter: name }), description: `webgpu on ${name}` };
  },
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
