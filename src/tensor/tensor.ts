import type { Backend } from '../backend/backend.js';
import { defaultBackend } from '../backend/default.js';

let gradEnabled = true;

/** Runs fn without recording the graph (evaluation, sampling). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

const scopes: Tensor[][] = [];
let liveTensors = 0;

/** Tensors whose storage is allocated and not yet disposed (a step that leaks makes this grow). */
export function liveTensorCount(): number {
  return liveTensors;
}

/**
 * Runs fn and then disposes every tensor created inside it, except those in its result
 * (a tensor, or arrays / plain objects holding tensors) and those marked with keep().
 * A training step wrapped in tidy() releases all its activations when it ends.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t) || t.kept) {
      parent?.push(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Where a new tensor goes, and whether it takes part in autograd. */
export interface TensorOptions {
  /** Default: defaultBackend(). */
  backend?: Backend;
  requiresGrad?: boolean;
}

/**
 * A float32 tensor: contiguous row-major storage owned by its backend (opaque here), plus its
 * place in the autograd graph. Values reach the host only through data() / dataSync().
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly backend: Backend;
  /** The backend's buffer. Only the backend looks inside it. */
  readonly buf: unknown;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** Kept by tidy() even when not returned (parameters, optimizer state). */
  kept = false;
  disposed = false;
  /** The inputs this tensor was computed from, and how to send its gradient to them. */
  parents: Tensor[] = [];
  backwardFn: (() => void) | null = null;
  /** Backend buffers saved by the op for its backward pass, released with the tensor. */
  saved: unknown[] = [];
  /** Whether this tensor allocated its storage (views do not free it). */
  private readonly owner: boolean;

  /**
   * A tensor on backend: over an existing buffer of that backend (a view, not freed by this
   * tensor), or with new storage, zero-filled unless zero is false.
   */
  constructor(shape: readonly number[], backend: Backend, buf?: unknown, opts: { zero?: boolean; requiresGrad?: boolean } = {}) {
    this.shape = [...shape];
    this.size = sizeOf(shape);
    this.backend = backend;
    this.owner = buf === undefined;
    this.buf = buf === undefined ? backend.alloc(this.size, opts.zero ?? true) : buf;
    if (this.owner) liveTensors++;
    this.requiresGrad = opts.requiresGrad ?? false;
    scopes[scopes.length - 1]?.push(this);
  }

  /** A new tensor holding a copy of values. */
  static from(values: ArrayLike<number>, shape: readonly number[], opts: TensorOptions = {}): Tensor {
    const size = sizeOf(shape);
    if (values.length !== size) throw new Error(`${values.length} values given for shape [${shape.join(', ')}] (${size} elements)`);
    const t = new Tensor(shape, opts.backend ?? defaultBackend(), undefined, { zero: false, requiresGrad: opts.requiresGrad });
    t.backend.write(t.buf, values instanceof Float32Array ? values : Float32Array.from(values));
    return t;
  }

  static zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
    return new Tensor(shape, opts.backend ?? defaultBackend(), undefined, { requiresGrad: opts.requiresGrad });
  }

  /** A tensor on backend whose contents are unspecified: for op outputs that a kernel overwrites whole. */
  static empty(shape: readonly number[], backend: Backend): Tensor {
    return new Tensor(shape, backend, undefined, { zero: false });
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** A host copy of the values (from any backend). */
  data(): Promise<Float32Array> {
    this.checkLive();
    return this.backend.read(this.buf, this.size);
  }

  /** A host copy of the values, now: CPU backends only (a GPU backend needs `await data()`). */
  dataSync(): Float32Array {
    this.checkLive();
    if (!this.backend.readSync) {
      throw new Error(`the ${this.backend.name} backend cannot read values synchronously: use \`await tensor.data()\` (or \`await tensor.itemAsync()\`)`);
    }
    return this.backend.readSync(this.buf, this.size);
  }

  /** The value of a one-element tensor (synchronous: CPU backends only). */
  item(): number {
    this.checkScalar();
    return this.dataSync()[0];
  }

  /** The value of a one-element tensor, from any backend. */
  async itemAsync(): Promise<number> {
    this.checkScalar();
    return (await this.data())[0];
  }

  private checkScalar(): void {
    if (this.size !== 1) throw new Error(`item() needs a tensor with one element, this one has shape [${this.shape.join(', ')}]`);
  }

  private checkLive(): void {
    if (this.disposed) throw new Error(`tensor of shape [${this.shape.join(', ')}] was disposed (a tidy() scope ended); keep() it or return it from the scope`);
  }

  keep(): this {
    this.kept = true;
    return this;
  }

  /** Same storage, another shape of the same size; gradients flow through. */
  view(shape: readonly number[]): Tensor {
    const resolved = resolveShape(shape, this.size);
    const out = new Tensor(resolved, this.backend, this.buf);
    if (isGradEnabled() && this.requiresGrad) {
      out.requiresGrad = true;
      out.parents = [this];
      out.backwardFn = () => {
        this.backend.axpy(ensureGrad(this).buf, out.grad!.buf, 1, this.size);
      };
    }
    return out;
  }

  /** Sets the gradient of every leaf this tensor depends on (the tensor must have one element, or `grad` be given). */
  backward(grad?: Tensor): void {
    if (!this.requiresGrad) throw new Error('backward(): this tensor does not require grad (was it computed under noGrad, or from tensors without requiresGrad?)');
    if (!grad && this.size !== 1) throw new Error(`backward() without a gradient needs a one-element tensor, got shape [${this.shape.join(', ')}]`);
    if (grad) sameBackend('backward', this, grad);
    const order = topoOrder(this);
    const g = ensureGrad(this);
    if (grad) this.backend.axpy(g.buf, grad.buf, 1, this.size);
    else {
      // d(loss)/d(loss) = 1, added as the gradient accumulates
      const one = this.backend.alloc(1, false);
      this.backend.fill(one, 1, 1);
      this.backend.axpy(g.buf, one, 1, 1);
      this.backend.free(one);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      if (t.backwardFn && t.grad) t.backwardFn();
    }
    // Free the graph: intermediate gradients and saved buffers go, leaves keep their .grad.
    for (const t of order) {
      if (t.backwardFn) {
        t.grad?.dispose();
        t.grad = null;
        t.backwardFn = null;
        t.parents = [];
        t.releaseSaved();
      }
    }
  }

  private releaseSaved(): void {
    for (const buf of this.saved) this.backend.free(buf);
    this.saved = [];
  }

  /** Releases the storage (a no-op for views and for tensors already disposed). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.releaseSaved();
    if (this.owner) {
      this.backend.free(this.buf);
      liveTensors--;
    }
    this.backwardFn = null;
    this.parents = [];
  }
}

/**
 * The backend all of an op's tensors live on; mixing backends is an error naming them.
 * (null entries, such as an absent bias, are skipped.)
 */
export function sameBackend(op: string, first: Tensor, ...rest: (Tensor | null | undefined)[]): Backend {
  for (const t of rest) {
    if (t && t.backend !== first.backend) {
      const which = first.backend.name === t.backend.name ? `two ${t.backend.name} backend instances` : `${first.backend.name} and ${t.backend.name}`;
      throw new Error(`${op}: tensors are on different backends (${which}); build them on one backend`);
    }
  }
  return first.backend;
}

function resolveShape(shape: readonly number[], size: number): number[] {
  const out = [...shape];
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    const rest = out.reduce((a, d, i) => (i === infer ? a : a * d), 1);
    if (rest === 0 || size % rest !== 0) throw new Error(`cannot view ${size} elements as [${shape.join(', ')}]`);
    out[infer] = size / rest;
  }
  if (sizeOf(out) !== size) throw new Error(`cannot view ${size} elements as [${shape.join(', ')}]`);
  return out;
}

/** The tensor's gradient buffer, created zero-filled on first use. A leaf's grad survives tidy(). */
export function ensureGrad(t: Tensor): Tensor {
  if (!t.grad) {
    const g = new Tensor(t.shape, t.backend);
    if (!t.backwardFn) g.kept = true;
    t.grad = g;
  }
  return t.grad;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // iterative DFS: graphs of deep models overflow recursion
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i < t.parents.length) {
      top[1]++;
      const p = t.parents[i];
      if (!seen.has(p) && p.requiresGrad) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Records `out` as computed from `inputs` when any of them requires grad (and grad mode is on);
 * `backward` adds out.grad's contribution into the inputs' gradients.
 */
export function record(out: Tensor, inputs: (Tensor | null | undefined)[], backward: () => void): Tensor {
  const parents = inputs.filter((t): t is Tensor => !!t);
  if (gradEnabled && parents.some((p) => p.requiresGrad)) {
    out.requiresGrad = true;
    out.parents = parents;
    out.backwardFn = backward;
  }
  return out;
}

/** Integer tensor of token ids (no gradient): [B, T] batches of inputs and targets. */
export class IntTensor {
  readonly data: Int32Array;
  readonly shape: readonly number[];
  constructor(data: Int32Array, shape: readonly number[]) {
    if (data.length !== sizeOf(shape)) throw new Error(`ids have ${data.length} elements, shape [${shape.join(', ')}] needs ${sizeOf(shape)}`);
    this.data = data;
    this.shape = [...shape];
  }

  static from(rows: number[][] | ArrayLike<number>, shape?: readonly number[]): IntTensor {
    if (Array.isArray(rows) && Array.isArray(rows[0])) {
      const r = rows as number[][];
      return new IntTensor(Int32Array.from(r.flat()), [r.length, r[0].length]);
    }
    const flat = Int32Array.from(rows as ArrayLike<number>);
    return new IntTensor(flat, shape ?? [flat.length]);
  }
}
