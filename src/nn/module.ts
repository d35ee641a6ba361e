import { Tensor } from '../tensor/tensor.js';

/**
 * A layer or model: named parameters (nanoGPT's names, built from the attribute path) and
 * child modules, and a training flag for dropout.
 */
export class Module {
  training = true;
  /** Parameters and child modules in the order they were registered (that order names tied weights). */
  private readonly entries: [string, Tensor | Module][] = [];

  protected registerParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.kept = true;
    this.entries.push([name, t]);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.entries.push([name, m]);
    return m;
  }

  /** Every parameter by its dotted name; a tensor shared by two names (tied weights) is listed once, under its first name. */
  namedParameters(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const seen = new Set<Tensor>();
    const walk = (m: Module, prefix: string) => {
      for (const [name, e] of m.entries) {
        if (e instanceof Module) walk(e, `${prefix}${name}.`);
        else if (!seen.has(e)) {
          seen.add(e);
          out.set(prefix + name, e);
        }
      }
    };
    walk(this, '');
    return out;
  }

  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /** Total number of parameter elements. */
  numParams(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  train(mode = true): this {
    this.training = mode;
    for (const [, e] of this.entries) if (e instanceof Module) e.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad) p.backend.fill(p.grad.buf, 0, p.size);
  }

  /** Copies values into parameters by name; every parameter must be given, with its shape. */
  loadStateDict(state: Map<string, { shape: readonly number[]; data: Float32Array }>): void {
    for (const [name, p] of this.namedParameters()) {
      const src = state.get(name);
      if (!src) throw new Error(`state dict has no tensor "${name}"`);
      if (src.shape.length !== p.shape.length || src.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`tensor "${name}" has shape [${src.shape.join(', ')}], the model expects [${p.shape.join(', ')}]`);
      }
      p.backend.write(p.buf, src.data);
    }
  }
}

export type Params = Map<string, Tensor>;

/** Numbered children (nanoGPT's ModuleList: h.0, h.1, ...). */
export class ModuleList<M extends Module> extends Module {
  constructor(readonly items: M[]) {
    super();
    items.forEach((m, i) => this.registerModule(String(i), m));
  }
}
