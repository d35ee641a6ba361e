import type { Tensor } from '../tensor/tensor.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState {
  name: string;
  param: Tensor;
  m: Float32Array;
  v: Float32Array;
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
  }

  /** Global L2 norm of all gradients (parameters without a gradient count as zero). */
  gradNorm(): number {
    let s = 0;
    for (const { param } of this.states) if (param.grad) s += param.backend.sumSquares(param.grad.data, param.size);
    return Math.sqrt(s);
  }

  /**
   * One update. gradScale multiplies every gradient first: clipGradNorm's factor, so that
   * clipping costs no extra pass over the gradients.
   */
  step(gradScale = 1): void {
    this.step_++;
    for (const s of this.states) {
      const g = s.param.grad;
      if (!g) continue;
      s.param.backend.adamw(s.param.data, g.data, s.m, s.v, s.param.size, this.lr, this.beta1, this.beta2, this.eps,
        s.decay ? this.weightDecay : 0, this.step_, gradScale);
    }
  }

  zeroGrad(): void {
    for (const { param } of this.states) param.grad?.data.fill(0);
  }

  /**
   * torch.nn.utils.clip_grad_norm_'s factor: min(1, maxNorm / (norm + 1e-6)). Returns the
   * norm before clipping and the factor to pass to step().
   */
  clipFactor(maxNorm: number): { norm: number; scale: number } {
    const norm = this.gradNorm();
    if (!(maxNorm > 0)) return { norm, scale: 1 };
    return { norm, scale: Math.min(1, maxNorm / (norm + 1e-6)) };
  }

  /** Moments by parameter name, for checkpoints. */
  stateDict(): { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    return {
      step: this.step_,
      m: new Map(this.states.map((s) => [s.name, s.m])),
      v: new Map(this.states.map((s) => [s.name, s.v])),
    };
  }

  loadStateDict(state: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> }): void {
    for (const s of this.states) {
      const m = state.m.get(s.name), v = state.v.get(s.name);
      if (!m || !v) throw new Error(`optimizer state has no moments for "${s.name}"`);
      if (m.length !== s.param.size || v.length !== s.param.size) throw new Error(`optimizer state for "${s.name}" has ${m.length} values, the parameter has ${s.param.size}`);
      s.m.set(m);
      s.v.set(v);
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
