import type { Backend } from '../backend/backend.js';
import { ReferenceBackend } from '../backend/reference.js';
import { UserError } from '../errors.js';
import { nativeEntry } from './native-backend.js';
import { wasmEntry } from './wasm-backend.js';

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

/** Loads the named backend, or the first one that loads when name is 'auto'. */
export async function loadBackend(name = 'auto'): Promise<Backend> {
  if (name !== 'auto') {
    const entry = backendEntries.find((e) => e.name === name);
    if (!entry) throw new UserError(`unknown backend "${name}"; expected auto or one of: ${backendEntries.map((e) => e.name).join(', ')}`);
    const b = await entry.load();
    if (!b) throw new UserError(`backend "${name}" cannot run here: ${entry.why ?? 'it did not load'}`);
    return b;
  }
  for (const entry of backendEntries) {
    const b = await entry.load();
    if (b) return b;
  }
  throw new Error('no backend could be loaded');
}
