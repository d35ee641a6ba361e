// Runs web-worker.js inside a worker_thread with the Web Worker globals it uses
// (addEventListener, postMessage) mapped onto parentPort, for backend-wasm.test.ts.
import { parentPort } from 'node:worker_threads';

// (node --test also runs every file under test/ on its own: then there is no parent, nothing to do)
if (parentPort) {
  const port = parentPort;
  const g = globalThis as unknown as Record<string, unknown>;
  g.postMessage = (m: unknown) => port.postMessage(m);
  g.addEventListener = (_type: string, listener: (e: { data: unknown }) => void) => port.once('message', (data) => listener({ data }));
  await import('../src/backend/wasm/web-worker.js');
}
