import { type Backend, checkBackend } from './backend.js';
import { ReferenceBackend } from './reference/reference.js';

let chosen: Backend | null = null;

/**
 * Where tensors made from host values (parameters, Tensor.from) go when no backend is named.
 * Ops never consult it: their outputs live on their inputs' backend. The edges choose it
 * once: the CLI from --device, `yorick/node` the fastest backend that loads, a page the one it
 * created. Until then it is the reference backend.
 */
export function defaultBackend(): Backend {
  return (chosen ??= new ReferenceBackend());
}

/** Makes backend the default for new tensors (checked against the kernel list first). */
export function setDefaultBackend(backend: Backend): void {
  chosen = checkBackend(backend);
}
