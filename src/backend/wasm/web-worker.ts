// A Web Worker of the WebAssembly backend (see createThreadedWasmBackend): the first message
// brings the module, the shared memory and the control block; the worker answers once ready,
// then serves kernel chunks until the pool stops.
import { instantiateKernels } from './kernels.js';
import { workerLoop } from './pool.js';

interface Init { module: WebAssembly.Module; memory: WebAssembly.Memory; control: SharedArrayBuffer; thread: number }

const scope = globalThis as unknown as {
  addEventListener(type: 'message', listener: (event: { data: Init }) => void, options?: { once?: boolean }): void;
  postMessage(message: unknown): void;
};

scope.addEventListener('message', (event) => {
  const { module, memory, control, thread } = event.data;
  void instantiateKernels(module, memory).then((instance) => {
    scope.postMessage('ready');
    workerLoop(control, instance.exports, thread);
  });
}, { once: true });
