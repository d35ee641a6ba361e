import type { Backend } from '../backend/backend.js';
import { type Batch, BatchSampler, type TokenArray } from '../data/batches.js';
import { UserError } from '../errors.js';
import { createModel } from '../models/factory.js';
import type { GPTConfig } from '../models/gpt.js';
import type { LanguageModel, ModelSpec } from '../models/model.js';
import { AdamW, learningRate } from '../optim/adamw.js';
import { mulScalar } from '../ops/elementwise.js';
import { noGrad, type Tensor, tidy } from '../tensor/tensor.js';
import { TorchGenerator } from '../tensor/torch-generator.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { checkpointParts, type CheckpointParts, type LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { resumeConfig } from './resume.js';

export interface StepEvent { iter: number; loss: number; lr: number; ms: number }
export interface EvalEvent { iter: number; train: number; val: number; saved: boolean }

export interface TrainHooks {
  /** After each optimizer step. */
  onStep?(e: StepEvent): void;
  /** After each evaluation (every eval_interval iterations). */
  onEval?(e: EvalEvent): void;
  /** Persist a checkpoint (write it whole or not at all; serializeCheckpoint's bytes are its safetensors file). */
  saveCheckpoint?(checkpoint: CheckpointParts, iter: number): void | Promise<void>;
  /** Stops the run between iterations; run() then returns. */
  signal?: AbortSignal;
}

/** The batch the next forward pass takes, and how to draw the one after it. */
export interface BatchStream {
  current: Batch;
  next(): Batch;
}

/**
 * One optimizer step in nanoGPT's order: for each of accumulationSteps micro-steps, a forward
 * pass on `batches.current`, then the next batch is drawn into `batches.current` (train.py
 * prefetches it there, after dropout's draws and before backward), then backward with the loss
 * scaled so the gradients average; the step's activations are freed. Then AdamW, with the
 * gradients clipped to gradClip (0: none), and the gradients zeroed. Returns the last
 * micro-batch's loss, as nanoGPT logs it.
 */
export async function trainStep(model: LanguageModel, optimizer: AdamW, batches: BatchStream,
  opts: { accumulationSteps?: number; gradClip?: number } = {}): Promise<number> {
  const steps = opts.accumulationSteps ?? 1;
  let loss: Tensor | null = null;
  for (let micro = 0; micro < steps; micro++) {
    loss?.dispose();
    const { x, y } = batches.current;
    loss = tidy(() => {
      const out = model.forward(x, y).loss!;
      batches.current = batches.next();
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

/** A checkpoint's random state from before yorick's streams were PyTorch's (xoshiro128** arrays). */
function isOldRngState(rng: unknown): boolean {
  return !!rng && typeof rng === 'object' && Array.isArray((rng as { batch?: unknown }).batch);
}

export interface TrainerData {
  train: TokenArray;
  val: TokenArray;
  vocabSize: number;
  tokenizer: TokenizerSpec;
}

/**
 * nanoGPT's training loop: warmup + cosine lr, gradient accumulation and clipping, periodic
 * evaluation and checkpoints. Random numbers come from one PyTorch-compatible stream, drawn in
 * train.py's order: seed, the model's initialization, the first batch, then per iteration the
 * evaluation's batches (train, then val), dropout's masks and the prefetched next batch. With the
 * same config and seed, the losses are nanoGPT's.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly model: LanguageModel;
  readonly optimizer: AdamW;
  readonly batches: BatchSampler;
  /** The stream every draw comes from (the model's: it initialized the model). */
  readonly generator: TorchGenerator;
  /** The batch the next step trains on (already drawn, as train.py prefetches it). */
  private readonly stream: BatchStream;
  /** What resuming took from the checkpoint over the config, for the user to see. */
  readonly notes: string[] = [];
  iterNum = 0;
  bestValLoss = 1e9;
  /** A resumed run skips the evaluation its checkpoint was saved at, so it continues the same random stream. */
  private skipEvalAt = -1;

  /**
   * A new run (model built on opts.backend, default the default backend), or one continuing
   * opts.resume (its model stays on the backend it was loaded on). A resumed run skips the
   * evaluation at its first iteration unless opts.evalAtStart (a run that starts a new random
   * stream from loaded weights, as nanoGPT's train.py does from ckpt.pt or GPT-2).
   */
  constructor(config: TrainConfig, private readonly data: TrainerData, opts: { resume?: LoadedCheckpoint; backend?: Backend; resumeWhere?: string; evalAtStart?: boolean } = {}) {
    const { resume } = opts;
    if (resume) {
      const r = resumeConfig(config, resume.state, data.tokenizer, opts.resumeWhere ?? 'being resumed');
      config = r.config;
      this.notes = r.notes;
    }
    this.config = config;
    if (resume) {
      if (isOldRngState(resume.state.rng)) {
        throw new UserError(`${opts.resumeWhere ?? 'the checkpoint'} was written by an earlier yorick whose random streams were not PyTorch's: ` +
          'it still loads for sampling, but its training cannot continue the same stream. Start a new run (init_from=scratch).');
      }
      this.model = resume.model;
      this.generator = this.model.generator;
      this.generator.setState(resume.state.rng.torch);
      this.iterNum = resume.state.iter_num;
      this.skipEvalAt = opts.evalAtStart ? -1 : this.iterNum;
      this.bestValLoss = resume.state.best_val_loss;
    } else {
      this.generator = new TorchGenerator(config.seed);
      this.model = createModel(modelSpecFor(config, data.vocabSize), { generator: this.generator, backend: opts.backend });
    }
    this.batches = new BatchSampler({ train: data.train, val: data.val }, config.batch_size, config.block_size, this.generator);
    this.stream = {
      current: resume ? this.batches.batchAt('train', resume.state.rng.batch_offsets) : this.batches.getBatch('train'),
      next: () => this.batches.getBatch('train'),
    };
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

  /** The run as it stands, for a checkpoint (writeSafetensors turns it into the file's bytes). */
  checkpoint(): Promise<CheckpointParts> {
    return checkpointParts(this.model, this.optimizer, {
      model: this.model.spec(),
      tokenizer: this.data.tokenizer,
      config: { ...this.config },
      iter_num: this.iterNum,
      best_val_loss: this.bestValLoss,
      rng: { torch: this.generator.getState(), batch_offsets: this.stream.current.offsets! },
    });
  }

  /** One optimizer step over gradient_accumulation_steps micro-batches; returns the loss as nanoGPT logs it. */
  step(lr: number): Promise<number> {
    this.optimizer.lr = lr;
    return trainStep(this.model, this.optimizer, this.stream, {
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
            await hooks.saveCheckpoint(await this.checkpoint(), this.iterNum);
            saved = true;
          }
        }
        hooks.onEval?.({ iter: this.iterNum, ...last, saved });
      }
      if (this.iterNum === 0 && c.eval_only) break;
      if (this.iterNum >= c.max_iters) break;
      const t0 = performance.now();
      const loss = await this.step(lr);
      // numbered as nanoGPT numbers them: the first step is iteration 0
      hooks.onStep?.({ iter: this.iterNum, loss, lr, ms: performance.now() - t0 });
      this.iterNum++;
      await yieldNow();
    }
    return last;
  }
}
