import { readSafetensors, SafetensorsError, type SafetensorsFile, type TensorSource, writeSafetensors } from '../io/safetensors.js';
import { createModel } from '../models/factory.js';
import type { LanguageModel, ModelOptions, ModelSpec } from '../models/model.js';
import type { AdamW, AdamWState } from '../optim/adamw.js';
import type { TorchGeneratorState } from '../tensor/torch-generator.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { UserError } from '../errors.js';
import { FormatError } from '../io/format-error.js';
import { checkCheckpointMetadata, checkCheckpointTensors, checkTensorValues, EXP_AVG, EXP_AVG_SQ, firstBadValue, type TensorInfo } from './checkpoint-check.js';

export const CHECKPOINT_FORMAT = 'yorick-checkpoint-1';

/** What a training run saves besides the weights, so that it can resume exactly. */
export interface CheckpointState {
  model: ModelSpec;
  tokenizer: TokenizerSpec;
  /** The training config (TrainConfig) as it was. */
  config: Record<string, unknown>;
  iter_num: number;
  best_val_loss: number;
  /**
   * The PyTorch-compatible stream every draw comes from, as it stood when the checkpoint was
   * written, and the offsets of the batch already drawn for the next step.
   */
  rng: { torch: TorchGeneratorState; batch_offsets: number[] };
  /**
   * The evaluation due at iter_num has not run yet (a run stopped just before it): a resumed run
   * runs it. Absent (false): the checkpoint was taken after it, or none was due.
   */
  eval_pending?: boolean;
}

type HostTensor = { shape: readonly number[]; data: Float32Array };

/** A checkpoint as tensors and metadata: written tensor by tensor (no buffer of the whole file). */
export interface CheckpointParts {
  tensors: Map<string, TensorSource>;
  metadata: Record<string, string>;
}

/**
 * One safetensors file's contents: the weights under nanoGPT's names (lm_head.weight is tied to
 * transformer.wte.weight and stored once), AdamW's moments under optimizer.exp_avg(_sq).NAME,
 * and the rest as JSON strings in __metadata__. Values are read back from the backend.
 */
export async function checkpointParts(model: LanguageModel, optimizer: AdamW | null, state: CheckpointState): Promise<CheckpointParts> {
  const tensors = new Map<string, TensorSource>();
  for (const [name, p] of model.namedParameters()) tensors.set(name, { dtype: 'F32', shape: p.shape, data: await p.data() });
  let step = 0;
  if (optimizer) {
    const opt = await optimizer.stateDict();
    step = opt.step;
    for (const [name, p] of model.namedParameters()) {
      tensors.set(EXP_AVG + name, { dtype: 'F32', shape: p.shape, data: opt.m.get(name)! });
      tensors.set(EXP_AVG_SQ + name, { dtype: 'F32', shape: p.shape, data: opt.v.get(name)! });
    }
  }
  const metadata = {
    format: CHECKPOINT_FORMAT,
    model: JSON.stringify(state.model),
    tokenizer: JSON.stringify(state.tokenizer),
    config: JSON.stringify(state.config),
    iter_num: String(state.iter_num),
    best_val_loss: String(state.best_val_loss),
    optimizer_step: String(step),
    rng: JSON.stringify(state.rng),
    // only when set: files of runs that never stop mid-interval stay as they were
    ...(state.eval_pending ? { eval_pending: 'true' } : {}),
  };
  return { tensors, metadata };
}

/**
 * Refuses parts holding a value that is not finite (a run that diverged): such a checkpoint
 * must never replace a good one. Names the tensor; `when` says which state it was ("at iteration 40").
 */
export function checkPartsFinite(parts: CheckpointParts, when: string): void {
  for (const [name, t] of parts.tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const bad = firstBadValue(t.data, name.startsWith(EXP_AVG_SQ));
    if (bad >= 0) {
      throw new UserError(`not saving the checkpoint ${when}: tensor "${name}" holds ${t.data[bad]} at index ${bad} (training diverged); the previous checkpoint is kept`);
    }
  }
}

/** The checkpoint as one safetensors file in memory (a download in a page; files use the parts). */
export async function serializeCheckpoint(model: LanguageModel, optimizer: AdamW | null, state: CheckpointState): Promise<Uint8Array> {
  const { tensors, metadata } = await checkpointParts(model, optimizer, state);
  return writeSafetensors(tensors, metadata);
}

/** A checkpoint's contents on the host: metadata, weights by name, AdamW's moments if saved. */
export interface CheckpointContents {
  state: CheckpointState;
  weights: Map<string, HostTensor>;
  optimizer: AdamWState | null;
}

/** A checkpoint with its model built (on a backend) and its weights loaded. */
export interface LoadedCheckpoint {
  state: CheckpointState;
  model: LanguageModel;
  optimizer: AdamWState | null;
}

/**
 * Parses and checks a checkpoint (its bytes, or a safetensors file already read tensor by
 * tensor): every metadata field, then every tensor's name, dtype and shape against the model
 * the metadata describes, then the values (finite). Every problem is a FormatError that names
 * the file (`what`) and the field or tensor.
 */
export function deserializeCheckpoint(source: Uint8Array | SafetensorsFile, what: string): CheckpointContents {
  let file: SafetensorsFile;
  try {
    file = source instanceof Uint8Array ? readSafetensors(source, what) : source;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new FormatError(`${e.message}; the checkpoint is corrupt or incomplete`);
    throw e;
  }
  const { state, optimizerStep } = checkCheckpointMetadata(file.metadata, CHECKPOINT_FORMAT, what);
  const hasMoments = checkCheckpointTensors(file.tensors, state.model, optimizerStep, what);
  const weights = new Map<string, HostTensor>();
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) {
    const data = t.data as Float32Array;
    checkTensorValues(name, data, what);
    if (name.startsWith(EXP_AVG_SQ)) v.set(name.slice(EXP_AVG_SQ.length), data);
    else if (name.startsWith(EXP_AVG)) m.set(name.slice(EXP_AVG.length), data);
    else weights.set(name, { shape: t.shape, data });
  }
  return { state, weights, optimizer: hasMoments ? { step: optimizerStep, m, v } : null };
}

/**
 * Checks a checkpoint's metadata and tensor list from its header alone (before any tensor is
 * read): what a file reader calls first, so that a bad file allocates nothing of its claimed size.
 */
export function checkCheckpointHeader(metadata: Record<string, string>, tensors: Iterable<[string, TensorInfo]>, what: string): void {
  const { state, optimizerStep } = checkCheckpointMetadata(metadata, CHECKPOINT_FORMAT, what);
  checkCheckpointTensors(tensors, state.model, optimizerStep, what);
}

/**
 * Parses a checkpoint and builds its model on backend (default: the default backend). The model
 * is built as nanoGPT's sample.py builds it: seeded (default 1337) and initialized before the
 * weights are loaded, so its generator then stands where sample.py's does.
 */
export function loadCheckpoint(source: Uint8Array | SafetensorsFile, what: string, opts: ModelOptions = {}): LoadedCheckpoint {
  const { state, weights, optimizer } = deserializeCheckpoint(source, what);
  let model: LanguageModel;
  try {
    model = createModel(state.model, opts);
    model.loadStateDict(weights);
  } catch (e) {
    throw new FormatError(`${what}: ${(e as Error).message}`);
  }
  return { state, model, optimizer };
}
