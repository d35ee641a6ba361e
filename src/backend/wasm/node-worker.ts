// A worker_threads worker of the WebAssembly backend: instantiates the kernel module on the
// shared memory, says it is ready, then serves kernel chunks until stopped.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels } from './kernels.js';
import { workerLoop } from './pool.js';

const { module, memory, control, thread } = workerData as {
  module: WebAssembly.Module; memory: WebAssembly.Memory; control: SharedArrayBuffer; thread: number;
};
const instance = await instantiateKernels(module, memory);
parentPort!.postMessage('ready');
workerLoop(control, instance.exports, thread);
