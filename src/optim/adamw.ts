import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';

/** AdamW's moments by parameter name, as host arrays (checkpoints), and the steps taken. */
export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState {
  name: string;
  param: Tensor;
  /** Backend buffers of the parameter's size. */
  m: unknown;
  v: unknown;
  decay: boolean;
}

/**
 * PyTorch's AdamW, with nanoGPT's grouping: weight decay only on parameters of 2 or more
 * dimensions (matmul weights and embeddings), none on biases and LayerNorm weights.
 */
export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken so far (the bias-correction t of the next step is step + 1). */
  step_ = 0;
  private readonly states: ParamState[];
  private readonly backend: Backend;
  /** One-element buffers: the squared gradient norm and the clipping factor, kept on the backend. */
  private readonly normSq: unknown;
  private readonly clipScale: unknown;

  constructor(params: Map<string, Tensor>, opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
    this.states = [...params].map(([name, param]) => ({
      name, param,
      m: param.backend.alloc(param.size),
      v: param.backend.alloc(param.size),
      decay: param.ndim >= 2,
    }));
    if (this.states.length === 0) throw new Error('AdamW: no parameters to optimize');
    this.backend = this.states[0].param.backend;
    for (const s of this.states) {
      if (s.param.backend !== this.backend) throw new Error(`AdamW: parameter "${s.name}" is on the ${s.param.backend.name} backend, "${this.states[0].name}" on ${this.backend.name}`);
    }
    this.normSq = this.backend.alloc(1);
    this.clipScale = this.backend.alloc(1);
  }

  /** The squared global L2 norm of all gradients into normSq, on the backend (no read-back). */
  private gradNormSq(): void {
    this.backend.fill(this.normSq, 0, 1);
    for (const { param } of this.states) if (param.grad) this.backend.sumSquares(this.normSq, param.grad.buf, param.size, true);
  }

  /** Global L2 norm of all gradients (parameters without a gradient count as zero). */
  async gradNorm(): Promise<number> {
    this.gradNormSq();
    return Math.sqrt((await this.backend.read(this.normSq, 1))[0]);
  }

  /**
   * One update. With maxNorm > 0 the gradients are first clipped to that global norm, as
   * torch.nn.utils.clip_grad_norm_ does, by a factor the AdamW kernel applies as it reads them.
   */
  step(maxNorm = 0): void {
    this.step_++;
    let scale: unknown = null;
    if (maxNorm > 0) {
      this.gradNormSq();
      this.backend.gradClipScale(this.clipScale, this.normSq, maxNorm);
      scale = this.clipScale;
    }
    for (const s of this.states) {
      const g = s.param.grad;
      if (!g) continue;
      this.backend.adamw(s.param.buf, g.buf, s.m, s.v, s.param.size, this.lr, this.beta1, this.beta2, this.eps,
        s.decay ? this.weightDecay : 0, this.step_, scale);
    }
  }

  zeroGrad(): void {
    for (const { param } of this.states) if (param.grad) this.backend.fill(param.grad.buf, 0, param.size);
  }

  /** Moments by parameter name as host copies, for checkpoints. */
  async stateDict(): Promise<AdamWState> {
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    for (const s of this.states) {
      m.set(s.name, await this.backend.read(s.m, s.param.size));
      v.set(s.name, await this.backend.read(s.v, s.param.size));
    }
    return { step: this.step_, m, v };
  }

  /** Every parameter's moments must be given, with the parameter's size. */
  loadStateDict(state: AdamWState): void {
    if (!(Number.isInteger(state.step) && state.step >= 0)) throw new Error(`optimizer state: step must be an integer >= 0, got ${state.step}`);
    for (const s of this.states) {
      const m = state.m.get(s.name), v = state.v.get(s.name);
      if (!m || !v) throw new Error(`optimizer state has no moments for "${s.name}"`);
      if (m.length !== s.param.size || v.length !== s.param.size) throw new Error(`optimizer state for "${s.name}" has ${m.length} values, the parameter has ${s.param.size}`);
      this.backend.write(s.m, m);
      this.backend.write(s.v, v);
    }
    this.step_ = state.step;
  }
}

/** nanoGPT's get_lr: linear warmup, cosine decay to min_lr at lr_decay_iters, then min_lr. */
export function learningRate(it: number, c: { learning_rate: number; warmup_iters: number; lr_decay_iters: number; min_lr: number; decay_lr?: boolean }): number {
  if (c.decay_lr === false) return c.learning_rate;
  if (it < c.warmup_iters) return (c.learning_rate * (it + 1)) / (c.warmup_iters + 1);
  if (it > c.lr_decay_iters) return c.min_lr;
  const ratio = (it - c.warmup_iters) / (c.lr_decay_iters - c.warmup_iters);
  const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
  return c.min_lr + coeff * (c.learning_rate - c.min_lr);
}
