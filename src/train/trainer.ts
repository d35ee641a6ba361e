import type { Backend } from '../backend/backend.js';
import { type Batch, BatchSampler, type TokenArray } from '../data/batches.js';
import { UserError } from '../errors.js';
import { createModel } from '../models/factory.js';
import { GPT, type GPTConfig } from '../models/gpt.js';
import type { LanguageModel, ModelSpec } from '../models/model.js';
import { AdamW, learningRate } from '../optim/adamw.js';
import { resolveDropoutRng } from '../ops/dropout.js';
import { add, mulScalar } from '../ops/elementwise.js';
import { noGrad, type Tensor, tidy } from '../tensor/tensor.js';
import { TorchGenerator } from '../tensor/torch-generator.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { checkpointParts, checkPartsFinite, type CheckpointParts, type LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { checkResumeState, resumeConfig } from './resume.js';

export interface StepEvent { iter: number; loss: number; lr: number; ms: number }
export interface EvalEvent { iter: number; train: number; val: number; saved: boolean }

export interface TrainHooks {
  /** After each optimizer step. */
  onStep?(e: StepEvent): void;
  /** After each evaluation (every eval_interval iterations, and the last), before its checkpoint is written (saved: one will be). */
  onEval?(e: EvalEvent): void;
  /** Persist a checkpoint (write it whole or not at all; serializeCheckpoint's bytes are its safetensors file). */
  saveCheckpoint?(checkpoint: CheckpointParts, iter: number): void | Promise<void>;
  /**
   * Stops the run after the step in flight (or during an evaluation, which is then undone: its
   * draws are given back); run() then returns, and checkpoint() is the state before step iterNum.
   */
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
  const loss = trainStepUnread(model, optimizer, batches, opts);
  const value = await loss.itemAsync();
  loss.dispose();
  return value;
}

/**
 * trainStep without reading the loss: it stays on the backend (one element; the caller reads and
 * disposes it), so a device can run this step while the host records the next.
 */
export function trainStepUnread(model: LanguageModel, optimizer: AdamW, batches: BatchStream,
  opts: { accumulationSteps?: number; gradClip?: number } = {}): Tensor {
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
  return loss!;
}

export function modelSpecFor(config: TrainConfig, vocabSize: number): ModelSpec {
  if (config.model === 'bigram') return { kind: 'bigram', args: { vocab_size: vocabSize, block_size: config.block_size } };
  const args: GPTConfig = {
    block_size: config.block_size, vocab_size: vocabSize, n_layer: config.n_layer, n_head: config.n_head,
    n_embd: config.n_embd, dropout: config.dropout, bias: config.bias,
  };
  return { kind: 'gpt', args };
}

/** total + x on their backend, both given up (total null: x itself). */
function addInto(total: Tensor | null, x: Tensor): Tensor {
  if (!total) return x;
  const t = total;
  const sum = noGrad(() => add(t, x));
  t.dispose();
  x.dispose();
  return sum;
}

/** A step whose loss is still on the backend. */
interface PendingStep { iter: number; lr: number; t0: number; loss: Tensor }

/** Hands the thread back to the event loop about every 50 ms (signals, a page's messages). */
function makeYielder(): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < 50) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

const DIVERGED_ADVICE = 'Nothing is saved from it: the last checkpoint stays as it was. Lower learning_rate (or set grad_clip), then resume or start again.';

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
  /**
   * The iteration whose evaluation has run (a resumed run skips the one its checkpoint was saved
   * after, so it continues the same random stream).
   */
  private evaluatedAt = -1;
  /** Whether this run has a checkpoint of itself (a resumed one has: the one it came from). */
  private hasCheckpoint = false;
  /** The last step with a finite loss, for the message when one is not. */
  private lastGood: { iter: number; loss: number } | null = null;

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
      // a start from other weights (evalAtStart: GPT-2, a nanoGPT file without moments) may begin AdamW afresh
      checkResumeState(resume, config, { trainTokens: data.train.length, vocabSize: data.vocabSize }, opts.resumeWhere ?? 'the checkpoint', { freshOptimizer: opts.evalAtStart });
      this.model = resume.model;
      this.generator = this.model.generator;
      this.generator.setState(resume.state.rng.torch);
      this.iterNum = resume.state.iter_num;
      this.evaluatedAt = resume.state.eval_pending || opts.evalAtStart ? -1 : this.iterNum;
      this.bestValLoss = resume.state.best_val_loss;
      this.hasCheckpoint = true;
    } else {
      this.generator = new TorchGenerator(config.seed);
      this.model = createModel(modelSpecFor(config, data.vocabSize), { generator: this.generator, backend: opts.backend });
    }
    if (this.model instanceof GPT) {
      this.model.dropoutSource.rng = resolveDropoutRng(config.dropout_rng, this.model.backend);
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
    return (await this.evaluate())!;
  }

  /** estimateLoss, or null when signal aborts it (its draws are then spent: the caller restores the stream). */
  private async evaluate(signal?: AbortSignal, yieldNow?: () => Promise<void>): Promise<{ train: number; val: number } | null> {
    const out = { train: 0, val: 0 };
    this.model.eval();
    try {
      for (const split of ['train', 'val'] as const) {
        // a CPU backend's losses are read as they come and summed in float64; a device's are
        // summed where they are (float32) and read once: a read per batch would stall its queue
        let sum = 0;
        let total: Tensor | null = null;
        try {
          for (let k = 0; k < this.config.eval_iters; k++) {
            const { x, y } = this.batches.getBatch(split);
            const loss = noGrad(() => tidy(() => this.model.forward(x, y).loss!));
            if (this.deviceReads) {
              total = addInto(total, loss);
            } else {
              sum += await loss.itemAsync();
              loss.dispose();
            }
            await yieldNow?.();
            if (signal?.aborted) return null;
          }
          if (total) sum = await total.itemAsync();
        } finally {
          total?.dispose();
        }
        out[split] = sum / this.config.eval_iters;
      }
    } finally {
      this.model.train();
    }
    return out;
  }

  /**
   * The run as it stands, for a checkpoint (writeSafetensors turns it into the file's bytes):
   * the state before step iterNum. A model with a weight or moment that is not finite is refused
   * (a UserError): a diverged run must not replace a good checkpoint.
   */
  async checkpoint(): Promise<CheckpointParts> {
    const parts = await checkpointParts(this.model, this.optimizer, {
      model: this.model.spec(),
      tokenizer: this.data.tokenizer,
      config: { ...this.config },
      iter_num: this.iterNum,
      best_val_loss: this.bestValLoss,
      rng: { torch: this.generator.getState(), batch_offsets: this.stream.current.offsets! },
      eval_pending: this.evalDue(),
    });
    checkPartsFinite(parts, `at iteration ${this.iterNum}`);
    return parts;
  }

  /** Whether iteration iterNum's scheduled evaluation is still to run. */
  private evalDue(): boolean {
    return this.iterNum % this.config.eval_interval === 0 && this.evaluatedAt !== this.iterNum;
  }

  /** One optimizer step over gradient_accumulation_steps micro-batches; returns the loss as nanoGPT logs it. */
  async step(lr: number): Promise<number> {
    const loss = this.stepUnread(lr);
    const value = await loss.itemAsync();
    loss.dispose();
    return value;
  }

  private stepUnread(lr: number): Tensor {
    this.optimizer.lr = lr;
    return trainStepUnread(this.model, this.optimizer, this.stream, {
      accumulationSteps: this.config.gradient_accumulation_steps, gradClip: this.config.grad_clip,
    });
  }

  /**
   * Whether losses are read in batches: on a device backend (no synchronous reads) a step's loss
   * is read with the others of its log_interval block, or before an evaluation or a stop, so the
   * device is never left idle waiting for the host between steps. CPU backends read every step.
   */
  private get deviceReads(): boolean {
    return !this.model.backend.readSync;
  }

  /** Reads the pending steps' losses in order: the divergence check, then onStep for each. */
  private async settle(pending: PendingStep[], hooks: TrainHooks): Promise<void> {
    if (pending.length === 0) return;
    const since = pending[0].t0;
    // all read at once: one wait for the device, not one per step
    const values = await Promise.all(pending.map((p) => p.loss.itemAsync()));
    for (const p of pending) p.loss.dispose();
    const steps = pending.splice(0);
    for (const [i, p] of steps.entries()) {
      const loss = values[i];
      if (!Number.isFinite(loss)) {
        this.iterNum = p.iter; // the run stands where it diverged (nothing after it is saved)
        throw new UserError(`training diverged at iteration ${p.iter}: the loss is ${loss} (lr ${p.lr.toExponential(2)}); ${this.lastGoodText()} ${DIVERGED_ADVICE}`);
      }
      this.lastGood = { iter: p.iter, loss };
      // a block's time is shared evenly by its steps (they ran back to back on the device)
      hooks.onStep?.({ iter: p.iter, loss, lr: p.lr, ms: (performance.now() - since) / steps.length });
    }
  }

  /**
   * Runs from iterNum to max_iters (inclusive, as nanoGPT: an evaluation lands on max_iters), or
   * until hooks.signal aborts. The last iteration is always evaluated (off the eval_interval
   * schedule too, then without spending the run's random stream), and a run that has no
   * checkpoint of itself saves one there. A loss that is not finite stops the run with a UserError.
   */
  async run(hooks: TrainHooks = {}): Promise<{ train: number; val: number } | null> {
    const c = this.config;
    const { signal } = hooks;
    const yieldNow = makeYielder();
    let last: { train: number; val: number } | null = null;
    let steps = 0;
    const pending: PendingStep[] = [];
    try {
      while (!signal?.aborted) {
        const lr = learningRate(this.iterNum, c);
        const final = this.iterNum >= c.max_iters;
        const offSchedule = final && steps > 0 && this.iterNum % c.eval_interval !== 0;
        if (this.evalDue() || offSchedule || final || (this.iterNum === 0 && c.eval_only)) await this.settle(pending, hooks);
        if (this.evalDue() || offSchedule) {
          const before = this.generator.getState();
          const losses = await this.evaluate(signal, yieldNow);
          // stopped mid-evaluation: as if it had not begun (a resumed run runs it whole)
          if (!losses) { this.generator.setState(before); break; }
          if (offSchedule) this.generator.setState(before);
          this.evaluatedAt = this.iterNum;
          last = losses;
          if (!Number.isFinite(losses.train) || !Number.isFinite(losses.val)) {
            throw new UserError(`training diverged at iteration ${this.iterNum}: the evaluation gave train loss ${losses.train}, val loss ${losses.val} ` +
              `(lr ${lr.toExponential(2)}); ${this.lastGoodText()} ${DIVERGED_ADVICE}`);
          }
          const improved = losses.val < this.bestValLoss;
          this.bestValLoss = Math.min(this.bestValLoss, losses.val);
          const save = (improved || c.always_save_checkpoint || (final && !this.hasCheckpoint)) && this.iterNum > 0 && !!hooks.saveCheckpoint;
          // the checkpoint is taken (and checked) first, the evaluation reported, then the file
          // written: a log written from onEval is never behind the checkpoint a kill leaves
          const parts = save ? await this.checkpoint() : null;
          hooks.onEval?.({ iter: this.iterNum, ...losses, saved: save });
          if (parts) {
            await hooks.saveCheckpoint!(parts, this.iterNum);
            this.hasCheckpoint = true;
          }
        }
        if (this.iterNum === 0 && c.eval_only) break;
        if (final || signal?.aborted) break;
        // numbered as nanoGPT numbers them: the first step is iteration 0
        pending.push({ iter: this.iterNum, lr, t0: performance.now(), loss: this.stepUnread(lr) });
        this.iterNum++;
        steps++;
        if (!this.deviceReads || pending.length >= c.log_interval) await this.settle(pending, hooks);
        await yieldNow();
      }
      await this.settle(pending, hooks);
    } finally {
      for (const p of pending) p.loss.dispose();
    }
    return last;
  }

  private lastGoodText(): string {
    return this.lastGood ? `the last good loss was ${this.lastGood.loss.toFixed(4)} at iteration ${this.lastGood.iter}.` : 'no step of this run had a finite loss.';
  }
}
