import { type Backend, checkBackend } from '../backend/backend.js';
import { nativeEntry } from '../backend/native/native-backend.js';
import { ReferenceBackend } from '../backend/reference/reference.js';
import { wasmEntry } from '../backend/wasm/node-wasm.js';
import { UserError } from '../errors.js';

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
}

export const backendEntries: BackendEntry[] = [
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
    if (!b) throw new UserError(`device "${name}" cannot run here: ${entry.why ?? 'it did not load'}`);
    return checkBackend(b);
  }
  for (const entry of backendEntries) {
    const b = await entry.load();
    if (b) return checkBackend(b);
  }
  throw new Error('no backend could be loaded');
}
