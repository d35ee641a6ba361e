import { readSafetensors, SafetensorsError, writeSafetensors } from '../io/safetensors.js';
import { BigramLanguageModel } from '../models/bigram.js';
import { GPT } from '../models/gpt.js';
import type { LanguageModel, ModelSpec } from '../models/model.js';
import type { AdamW } from '../optim/adamw.js';
import type { TokenizerSpec } from '../tokenizers/types.js';

export const CHECKPOINT_FORMAT = 'yorick-checkpoint-1';
const EXP_AVG = 'optimizer.exp_avg.';
const EXP_AVG_SQ = 'optimizer.exp_avg_sq.';


export function createModel(spec: ModelSpec, seed: number): LanguageModel {
  if (spec.kind === 'bigram') return new BigramLanguageModel(spec.args.vocab_size, spec.args.block_size, seed);
  return new GPT(spec.args, seed);
}

/** What a training run saves besides the weights, so that it can resume exactly. */
export interface CheckpointState {
  model: ModelSpec;
  tokenizer: TokenizerSpec;
  /** The training config (TrainConfig) as it was. */
  config: Record<string, unknown>;
  iter_num: number;
  best_val_loss: number;
  /** States of the batch sampler's and the model's (dropout) random streams. */
  rng: { batch: number[]; model: number[] };
}

/**
 * One safetensors file: the weights under nanoGPT's names (lm_head.weight is tied to
 * transformer.wte.weight and stored once), AdamW's moments under optimizer.exp_avg(_sq).NAME,
 * and the rest as JSON strings in __metadata__.
 */
export function serializeCheckpoint(model: LanguageModel, optimizer: AdamW | null, state: CheckpointState): Uint8Array {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, p] of model.namedParameters()) tensors.set(name, { shape: p.shape, data: p.data });
  let step = 0;
  if (optimizer) {
    const opt = optimizer.stateDict();
    step = opt.step;
    for (const [name, p] of model.namedParameters()) {
      tensors.set(EXP_AVG + name, { shape: p.shape, data: opt.m.get(name)! });
      tensors.set(EXP_AVG_SQ + name, { shape: p.shape, data: opt.v.get(name)! });
    }
  }
  return writeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    model: JSON.stringify(state.model),
    tokenizer: JSON.stringify(state.tokenizer),
    config: JSON.stringify(state.config),
    iter_num: String(state.iter_num),
    best_val_loss: String(state.best_val_loss),
    optimizer_step: String(step),
    rng: JSON.stringify(state.rng),
  });
}

export interface LoadedCheckpoint {
  state: CheckpointState;
  model: LanguageModel;
  /** Moments by parameter name (empty when the checkpoint has none) and the optimizer's step. */
  optimizer: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } | null;
}

/** Parses and checks a checkpoint; every problem is an Error that names the file. */
export function deserializeCheckpoint(bytes: Uint8Array, what: string): LoadedCheckpoint {
  let file;
  try {
    file = readSafetensors(bytes, what);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new Error(`${e.message}; the checkpoint is corrupt or incomplete`);
    throw e;
  }
  const md = file.metadata;
  if (md.format !== CHECKPOINT_FORMAT) throw new Error(`${what} is not a yorick checkpoint (format ${JSON.stringify(md.format)}, expected ${CHECKPOINT_FORMAT})`);
  let state: CheckpointState;
  try {
    state = {
      model: JSON.parse(md.model),
      tokenizer: JSON.parse(md.tokenizer),
      config: JSON.parse(md.config),
      iter_num: Number(md.iter_num),
      best_val_loss: Number(md.best_val_loss),
      rng: JSON.parse(md.rng),
    };
  } catch (e) {
    throw new Error(`${what}: metadata is corrupt (${(e as Error).message})`);
  }
  const model = createModel(state.model, 0);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) {
    if (t.dtype !== 'F32') throw new Error(`${what}: tensor "${name}" is ${t.dtype}, expected F32`);
    const data = t.data as Float32Array;
    if (name.startsWith(EXP_AVG_SQ)) v.set(name.slice(EXP_AVG_SQ.length), data);
    else if (name.startsWith(EXP_AVG)) m.set(name.slice(EXP_AVG.length), data);
    else weights.set(name, { shape: t.shape, data });
  }
  try {
    model.loadStateDict(weights);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
  const optimizer = m.size ? { step: Number(md.optimizer_step), m, v } : null;
  return { state, model, optimizer };
}
