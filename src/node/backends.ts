import { type Backend, checkBackend } from '../backend/backend.js';
import { nativeEntry } from '../backend/native/native-backend.js';
import { ReferenceBackend } from '../backend/reference/reference.js';
import { wasmEntry } from '../backend/wasm/node-wasm.js';
import { webgpuEntry } from '../backend/webgpu/node-webgpu.js';
import { DeviceError, UserError } from '../errors.js';

/**
 * The backends yorick knows in Node, fastest first. `load` returns null (with the reason in
 * `why`) when a backend cannot run here, so callers can fall back to the next one.
 */
export interface BackendEntry {
  name: string;
  describe: string;
  load(): Promise<Backend | null>;
  /** Why load() returned null, when it did. */
  why?: string;
  /**
   * What `auto` may take from this backend, when that is less than load() gives (WebGPU only
   * on a hardware GPU); null with the reason in `autoWhy` when auto should move on.
   */
  loadForAuto?(): Promise<Backend | null>;
  autoWhy?: string;
}

/**
 * In this order `auto` tries them: WebGPU only when its adapter is a hardware GPU (a software
 * one such as SwiftShader is much slower than the CPU backends), then native, wasm, reference.
 */
export const backendEntries: BackendEntry[] = [
  webgpuEntry,
  nativeEntry,
  wasmEntry,
  { name: 'reference', describe: 'plain TypeScript loops (the ground truth)', load: async () => new ReferenceBackend() },
];

/**
 * Loads the named backend (a device name: native, wasm, reference, ...), or the first one that
 * loads when name is 'auto'; each is checked against the kernel list before it is returned.
 */
export async function loadBackend(name = 'auto'): Promise<Backend> {
  if (name !== 'auto') {
    const entry = backendEntries.find((e) => e.name === name);
    if (!entry) throw new UserError(`unknown device "${name}"; expected auto or one of: ${backendEntries.map((e) => e.name).join(', ')}`);
    const b = await entry.load();
    if (!b) throw new DeviceError(name, `device "${name}" cannot run here: ${entry.why ?? 'it did not load'}`);
    return checkBackend(b);
  }
  for (const entry of backendEntries) {
    const b = await (entry.loadForAuto ? entry.loadForAuto() : entry.load());
    if (b) return checkBackend(b);
  }
  throw new Error('no backend could be loaded');
}

/** How a backend names itself to a user: "webgpu on <adapter>", or its name. */
export function describeBackend(backend: Backend): string {
  const adapter = (backend as { adapter?: unknown }).adapter;
  return typeof adapter === 'string' ? `${backend.name} on ${adapter}` : backend.name;
}
