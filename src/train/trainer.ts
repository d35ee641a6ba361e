import { BatchSampler, type TokenArray } from '../data/batches.js';
import type { GPTConfig } from '../models/gpt.js';
import type { LanguageModel, ModelSpec } from '../models/model.js';
import { AdamW, learningRate } from '../optim/adamw.js';
import { mulScalar } from '../ops/elementwise.js';
import { IntTensor, noGrad, tidy } from '../tensor/tensor.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { createModel, serializeCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';

export interface StepEvent { iter: number; loss: number; lr: number; ms: number }
export interface EvalEvent { iter: number; train: number; val: number; saved: boolean }

export interface TrainHooks {
  /** After each optimizer step. */
  onStep?(e: StepEvent): void;
  /** After each evaluation (every eval_interval iterations). */
  onEval?(e: EvalEvent): void;
  /** Persist a checkpoint (write it whole or not at all). */
  saveCheckpoint?(bytes: Uint8Array, iter: number): void;
}

/**
 * One optimizer step on one batch: forward and backward (the step's activations freed),
 * gradient clipping at gradClip (0: none), AdamW, gradients zeroed. Returns the loss.
 */
export function trainStep(model: LanguageModel, optimizer: AdamW, x: IntTensor, y: IntTensor, gradClip = 0): number {
  const loss = tidy(() => {
    const { loss } = model.forward(x, y);
    loss!.backward();
    return loss!.item();
  });
  optimizer.step(gradClip > 0 ? optimizer.clipFactor(gradClip).scale : 1);
  optimizer.zeroGrad();
  return loss;
}

export function modelSpecFor(config: TrainConfig, vocabSize: number): ModelSpec {
  if (config.model === 'bigram') return { kind: 'bigram', args: { vocab_size: vocabSize, block_size: config.block_size } };
  const args: GPTConfig = {
    block_size: config.block_size, vocab_size: vocabSize, n_layer: config.n_layer, n_head: config.n_head,
    n_embd: config.n_embd, dropout: config.dropout, bias: config.bias,
  };
  return { kind: 'gpt', args };
}

/** nanoGPT's training loop: warmup + cosine lr, gradient accumulation and clipping, periodic evaluation and checkpoints. */
export class Trainer {
  readonly model: LanguageModel;
  readonly optimizer: AdamW;
  readonly batches: BatchSampler;
  iterNum = 0;
  bestValLoss = 1e9;
  /** A resumed run skips the evaluation its checkpoint was saved at, so it continues the same random stream. */
  private skipEvalAt = -1;

  constructor(readonly config: TrainConfig, private readonly data: { train: TokenArray; val: TokenArray; vocabSize: number; tokenizer: TokenizerSpec },
    resume?: LoadedCheckpoint) {
    this.batches = new BatchSampler({ train: data.train, val: data.val }, config.batch_size, config.block_size, config.seed);
    if (resume) {
      this.model = resume.model;
      this.iterNum = resume.state.iter_num;
      this.skipEvalAt = this.iterNum;
      this.bestValLoss = resume.state.best_val_loss;
      this.batches.rng.setState(resume.state.rng.batch);
      this.model.rng.setState(resume.state.rng.model);
    } else {
      this.model = createModel(modelSpecFor(config, data.vocabSize), config.seed);
    }
    this.optimizer = new AdamW(this.model.namedParameters(), {
      lr: config.learning_rate, betas: [config.beta1, config.beta2], weightDecay: config.weight_decay,
    });
    if (resume?.optimizer) this.optimizer.loadStateDict(resume.optimizer);
  }

  /** Mean loss over eval_iters batches of each split, in eval mode and without the graph. */
  estimateLoss(): { train: number; val: number } {
    const out = { train: 0, val: 0 };
    this.model.eval();
    noGrad(() => {
      for (const split of ['train', 'val'] as const) {
        let sum = 0;
        for (let k = 0; k < this.config.eval_iters; k++) {
          const { x, y } = this.batches.getBatch(split);
          sum += tidy(() => this.model.forward(x, y).loss!.item());
        }
        out[split] = sum / this.config.eval_iters;
      }
    });
    this.model.train();
    return out;
  }

  checkpointBytes(): Uint8Array {
    return serializeCheckpoint(this.model, this.optimizer, {
      model: this.model.spec(),
      tokenizer: this.data.tokenizer,
      config: { ...this.config },
      iter_num: this.iterNum,
      best_val_loss: this.bestValLoss,
      rng: { batch: this.batches.rng.getState(), model: this.model.rng.getState() },
    });
  }

  /** One optimizer step over gradient_accumulation_steps micro-batches; returns the loss as nanoGPT logs it. */
  step(lr: number): number {
    const c = this.config;
    this.optimizer.lr = lr;
    let lossf = 0;
    for (let micro = 0; micro < c.gradient_accumulation_steps; micro++) {
      const { x, y } = this.batches.getBatch('train');
      lossf = tidy(() => {
        const { loss } = this.model.forward(x, y);
        // scale so the accumulated gradient is the mean over micro-steps
        const scaled = mulScalar(loss!, 1 / c.gradient_accumulation_steps);
        scaled.backward();
        return loss!.item();
      });
    }
    const scale = c.grad_clip > 0 ? this.optimizer.clipFactor(c.grad_clip).scale : 1;
    this.optimizer.step(scale);
    this.optimizer.zeroGrad();
    return lossf;
  }

  /** Runs from iterNum to max_iters (inclusive, as nanoGPT: the last evaluation lands on max_iters). */
  run(hooks: TrainHooks = {}): { train: number; val: number } | null {
    const c = this.config;
    let last: { train: number; val: number } | null = null;
    for (;;) {
      const lr = learningRate(this.iterNum, c);
      if (this.iterNum % c.eval_interval === 0 && this.iterNum !== this.skipEvalAt) {
        last = this.estimateLoss();
        let saved = false;
        if (last.val < this.bestValLoss || c.always_save_checkpoint) {
          this.bestValLoss = Math.min(this.bestValLoss, last.val);
          if (this.iterNum > 0 && hooks.saveCheckpoint) {
            hooks.saveCheckpoint(this.checkpointBytes(), this.iterNum);
            saved = true;
          }
        }
        hooks.onEval?.({ iter: this.iterNum, ...last, saved });
      }
      if (this.iterNum === 0 && c.eval_only) break;
      if (this.iterNum >= c.max_iters) break;
      const t0 = performance.now();
      const loss = this.step(lr);
      this.iterNum++;
      hooks.onStep?.({ iter: this.iterNum, loss, lr, ms: performance.now() - t0 });
    }
    return last;
  }
}

