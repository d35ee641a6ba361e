import type { Backend } from '../backend/backend.js';
import { BatchSampler, type TokenArray } from '../data/batches.js';
import { createModel } from '../models/factory.js';
import type { GPTConfig } from '../models/gpt.js';
import type { LanguageModel, ModelSpec } from '../models/model.js';
import { AdamW, learningRate } from '../optim/adamw.js';
import { mulScalar } from '../ops/elementwise.js';
import { type IntTensor, noGrad, type Tensor, tidy } from '../tensor/tensor.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { serializeCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { resumeConfig } from './resume.js';

export interface StepEvent { iter: number; loss: number; lr: number; ms: number }
export interface EvalEvent { iter: number; train: number; val: number; saved: boolean }

export interface TrainHooks {
  /** After each optimizer step. */
  onStep?(e: StepEvent): void;
  /** After each evaluation (every eval_interval iterations). */
  onEval?(e: EvalEvent): void;
  /** Persist a checkpoint (write it whole or not at all). */
  saveCheckpoint?(bytes: Uint8Array, iter: number): void | Promise<void>;
  /** Stops the run between iterations; run() then returns. */
  signal?: AbortSignal;
}

export type Batch = { x: IntTensor; y: IntTensor };

/**
 * One optimizer step: for each of accumulationSteps micro-batches (from nextBatch) a forward
 * and backward pass with the loss scaled so the gradients average, the step's activations
 * freed; then AdamW, with the gradients clipped to gradClip (0: none), and the gradients
 * zeroed. Returns the last micro-batch's loss, as nanoGPT logs it.
 */
export async function trainStep(model: LanguageModel, optimizer: AdamW, nextBatch: () => Batch,
  opts: { accumulationSteps?: number; gradClip?: number } = {}): Promise<number> {
  const steps = opts.accumulationSteps ?? 1;
  let loss: Tensor | null = null;
  for (let micro = 0; micro < steps; micro++) {
    loss?.dispose();
    const { x, y } = nextBatch();
    loss = tidy(() => {
      const out = model.forward(x, y).loss!;
      (steps > 1 ? mulScalar(out, 1 / steps) : out).backward();
      return out;
    });
  }
  optimizer.step(opts.gradClip ?? 0);
  optimizer.zeroGrad();
  const value = await loss!.itemAsync();
  loss!.dispose();
  return value;
}

export function modelSpecFor(config: TrainConfig, vocabSize: number): ModelSpec {
  if (config.model === 'bigram') return { kind: 'bigram', args: { vocab_size: vocabSize, block_size: config.block_size } };
  const args: GPTConfig = {
    block_size: config.block_size, vocab_size: vocabSize, n_layer: config.n_layer, n_head: config.n_head,
    n_embd: config.n_embd, dropout: config.dropout, bias: config.bias,
  };
  return { kind: 'gpt', args };
}

/** Hands the thread back to the event loop about every 50 ms (signals, a page's messages). */
function makeYielder(): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < 50) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

export interface TrainerData {
  train: TokenArray;
  val: TokenArray;
  vocabSize: number;
  tokenizer: TokenizerSpec;
}

/** nanoGPT's training loop: warmup + cosine lr, gradient accumulation and clipping, periodic evaluation and checkpoints. */
export class Trainer {
  readonly config: TrainConfig;
  readonly model: LanguageModel;
  readonly optimizer: AdamW;
  readonly batches: BatchSampler;
  /** What resuming took from the checkpoint over the config, for the user to see. */
  readonly notes: string[] = [];
  iterNum = 0;
  bestValLoss = 1e9;
  /** A resumed run skips the evaluation its checkpoint was saved at, so it continues the same random stream. */
  private skipEvalAt = -1;

  /**
   * A new run (model built on opts.backend, default the default backend), or one continuing
   * opts.resume (its model stays on the backend it was loaded on).
   */
  constructor(config: TrainConfig, private readonly data: TrainerData, opts: { resume?: LoadedCheckpoint; backend?: Backend; resumeWhere?: string } = {}) {
    const { resume } = opts;
    if (resume) {
      const r = resumeConfig(config, resume.state, data.tokenizer, opts.resumeWhere ?? 'being resumed');
      config = r.config;
      this.notes = r.notes;
    }
    this.config = config;
    this.batches = new BatchSampler({ train: data.train, val: data.val }, config.batch_size, config.block_size, config.seed);
    if (resume) {
      this.model = resume.model;
      this.iterNum = resume.state.iter_num;
      this.skipEvalAt = this.iterNum;
      this.bestValLoss = resume.state.best_val_loss;
      this.batches.rng.setState(resume.state.rng.batch);
      this.model.rng.setState(resume.state.rng.model);
    } else {
      this.model = createModel(modelSpecFor(config, data.vocabSize), { seed: config.seed, backend: opts.backend });
    }
    this.optimizer = new AdamW(this.model.namedParameters(), {
      lr: config.learning_rate, betas: [config.beta1, config.beta2], weightDecay: config.weight_decay,
    });
    if (resume?.optimizer) this.optimizer.loadStateDict(resume.optimizer);
  }

  /** Mean loss over eval_iters batches of each split, in eval mode and without the graph. */
  async estimateLoss(): Promise<{ train: number; val: number }> {
    const out = { train: 0, val: 0 };
    this.model.eval();
    try {
      for (const split of ['train', 'val'] as const) {
        let sum = 0;
        for (let k = 0; k < this.config.eval_iters; k++) {
          const { x, y } = this.batches.getBatch(split);
          const loss = noGrad(() => tidy(() => this.model.forward(x, y).loss!));
          sum += await loss.itemAsync();
          loss.dispose();
        }
        out[split] = sum / this.config.eval_iters;
      }
    } finally {
      this.model.train();
    }
    return out;
  }

  checkpointBytes(): Promise<Uint8Array> {
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
  step(lr: number): Promise<number> {
    this.optimizer.lr = lr;
    return trainStep(this.model, this.optimizer, () => this.batches.getBatch('train'), {
      accumulationSteps: this.config.gradient_accumulation_steps, gradClip: this.config.grad_clip,
    });
  }

  /** Runs from iterNum to max_iters (inclusive, as nanoGPT: the last evaluation lands on max_iters), or until hooks.signal aborts. */
  async run(hooks: TrainHooks = {}): Promise<{ train: number; val: number } | null> {
    const c = this.config;
    const yieldNow = makeYielder();
    let last: { train: number; val: number } | null = null;
    while (!hooks.signal?.aborted) {
      const lr = learningRate(this.iterNum, c);
      if (this.iterNum % c.eval_interval === 0 && this.iterNum !== this.skipEvalAt) {
        last = await this.estimateLoss();
        let saved = false;
        if (last.val < this.bestValLoss || c.always_save_checkpoint) {
          this.bestValLoss = Math.min(this.bestValLoss, last.val);
          if (this.iterNum > 0 && hooks.saveCheckpoint) {
            await hooks.saveCheckpoint(await this.checkpointBytes(), this.iterNum);
            saved = true;
          }
        }
        hooks.onEval?.({ iter: this.iterNum, ...last, saved });
      }
      if (this.iterNum === 0 && c.eval_only) break;
      if (this.iterNum >= c.max_iters) break;
      const t0 = performance.now();
      const loss = await this.step(lr);
      this.iterNum++;
      hooks.onStep?.({ iter: this.iterNum, loss, lr, ms: performance.now() - t0 });
      await yieldNow();
    }
    return last;
  }
}
