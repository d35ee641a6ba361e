/**
 * Where `yorick train` starts: from scratch, from its own checkpoint (resume), or from weights
 * made elsewhere: nanoGPT's ckpt.pt (with AdamW's moments and iter_num) or GPT-2 in Hugging
 * Face's layout. For the last two the run is set up as nanoGPT's train.py sets it up:
 * torch.manual_seed(seed), the model built (its initialization drawn, then the weights loaded
 * over it), the first batch drawn, and an evaluation at the first iteration. nanoGPT saves no
 * random state in ckpt.pt and reseeds on resume; so does this.
 */
import { existsSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import { BatchSampler } from '../data/batches.js';
import { UserError } from '../errors.js';
import { gptFromStateDict } from '../io/load-gpt.js';
import type { NanoGptCheckpoint } from '../io/nanogpt.js';
import type { GPT } from '../models/gpt.js';
import { loadCheckpointFile } from '../node/checkpoint.js';
import { gpt2ModelArgs, loadHfGpt2, type HfModelFiles } from '../node/hf-gpt2-file.js';
import { nanoGptMetaPath, readNanoGptFile, readNanoGptMetaFile } from '../node/nanogpt-file.js';
import { resolveModelSource } from '../node/pretrained.js';
import type { LoadedCheckpoint } from '../train/checkpoint.js';
import type { TrainConfig } from '../train/config.js';
import type { TrainerData } from '../train/trainer.js';
import { TorchGenerator } from '../tensor/torch-generator.js';
import { skipNanoGptInit } from '../models/nanogpt-init.js';

export interface TrainingStart {
  /** The config the run goes on with (the model's shape and AdamW's settings as loaded). */
  config: TrainConfig;
  resume?: LoadedCheckpoint;
  /** The file it started from. */
  where: string;
  /** What was taken from the loaded file over the config, and how, for the user. */
  notes: string[];
  /** Evaluate at the first iteration (nanoGPT's train.py does after loading ckpt.pt or GPT-2). */
  evalAtStart: boolean;
  /** Continue out_dir's metrics log (a resumed yorick run) rather than start a new one. */
  continuesLog: boolean;
}

const MODEL_KEYS = ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias'] as const;

/** The config with the model's shape as loaded; a note for each value that changes. */
function withModelShape(config: TrainConfig, args: Pick<TrainConfig, (typeof MODEL_KEYS)[number]>, from: string, notes: string[]): TrainConfig {
  const out = { ...config };
  for (const key of MODEL_KEYS) {
    if (args[key] !== config[key]) {
      notes.push(`${key} = ${String(args[key])} from ${from} (the config said ${String(config[key])})`);
      (out as Record<string, unknown>)[key] = args[key];
    }
  }
  return out;
}

/**
 * The loaded model as a checkpoint the Trainer resumes: the stream where train.py's stands once
 * its model exists (the model's own generator) with the first batch drawn from it.
 */
function asCheckpoint(model: GPT, config: TrainConfig, data: TrainerData, iterNum: number, bestValLoss: number,
  optimizer: LoadedCheckpoint['optimizer'], generatorState = model.generator.getState()): LoadedCheckpoint {
  const generator = new TorchGenerator(config.seed);
  generator.setState(generatorState);
  const first = new BatchSampler({ train: data.train, val: data.val }, config.batch_size, config.block_size, generator).getBatch('train');
  return {
    model, optimizer,
    state: {
      model: model.spec(), tokenizer: data.tokenizer, config: { ...config }, iter_num: iterNum, best_val_loss: bestValLoss,
      rng: { torch: generator.getState(), batch_offsets: first.offsets! },
    },
  };
}

/** Checks that the dataset's tokens fit a nanoGPT checkpoint (its vocabulary, its meta.pkl when found). */
function checkNanoGptData(ck: NanoGptCheckpoint, path: string, config: TrainConfig, data: TrainerData): string[] {
  if (data.vocabSize > ck.modelArgs.vocab_size) {
    throw new UserError(`dataset "${config.dataset}" has ${data.vocabSize} token ids, more than ${path}'s vocab_size ${ck.modelArgs.vocab_size}: it was trained on other data`);
  }
  const meta = nanoGptMetaPath(config.data_dir, ck);
  if (!meta || !existsSync(meta)) return [];
  const chars = readNanoGptMetaFile(meta).chars as string[];
  const ours = data.tokenizer.kind === 'char' ? (data.tokenizer.chars as string[]) : null;
  if (!ours || ours.length !== chars.length || ours.some((c, i) => c !== chars[i])) {
    throw new UserError(`${path} was trained on the characters of ${meta}, and dataset "${config.dataset}" uses ` +
      `${ours ? 'another character vocabulary' : `the ${data.tokenizer.kind} tokenizer`}; train it on data with the same vocabulary`);
  }
  return [`vocabulary checked against ${meta}`];
}

function fromNanoGpt(path: string, asked: TrainConfig, data: TrainerData, backend: Backend): TrainingStart {
  const ck = readNanoGptFile(path);
  const notes = checkNanoGptData(ck, path, asked, data);
  let config = withModelShape(asked, ck.modelArgs, path, notes);
  const o = ck.optimizer;
  if (o) {
    // PyTorch's optimizer.load_state_dict restores each group's betas and weight_decay (the lr is set every iteration)
    const loaded = { beta1: o.betas[0], beta2: o.betas[1], weight_decay: o.weightDecay };
    for (const [k, v] of Object.entries(loaded)) {
      if (config[k as keyof typeof loaded] !== v) notes.push(`${k} = ${v} from ${path}'s optimizer (the config said ${config[k as keyof typeof loaded]})`);
    }
    config = { ...config, ...loaded };
    if (Math.abs(o.eps - 1e-8) > 1e-20) throw new UserError(`${path}: AdamW's eps is ${o.eps}; yorick's trainer uses PyTorch's default 1e-8`);
  } else notes.push(`${path} holds no optimizer state: AdamW starts with zero moments`);
  // dropout is the run's, as train.py keeps it from the command line
  const model = gptFromStateDict({ ...ck.modelArgs, dropout: config.dropout }, ck.stateDict, { backend, seed: config.seed });
  const optimizer = o ? { step: o.step, m: o.m, v: o.v } : null;
  notes.push(`a new random stream from seed ${config.seed}, as nanoGPT's train.py reseeds on resume (ckpt.pt holds no random state)`);
  return { config, resume: asCheckpoint(model, config, data, ck.iterNum, ck.bestValLoss, optimizer), where: path, notes, evalAtStart: true, continuesLog: false };
}

function fromGpt2(name: string, files: HfModelFiles, asked: TrainConfig, data: TrainerData, backend: Backend): TrainingStart {
  if (data.tokenizer.kind !== 'tiktoken' || data.tokenizer.encoding !== 'gpt2') {
    throw new UserError(`GPT-2's weights read GPT-2's tokens; dataset "${asked.dataset}" uses the ${data.tokenizer.kind} tokenizer. ` +
      `Prepare it with --tokenizer gpt2 (yorick prepare --dataset shakespeare does)`);
  }
  const full = gpt2ModelArgs(files);
  const notes: string[] = [];
  // nanoGPT crops the position table to a smaller block_size; a larger one cannot run on these weights
  const blockSize = Math.min(asked.block_size, full.block_size);
  if (asked.block_size < full.block_size) notes.push(`the position table cropped to block_size ${blockSize}, as nanoGPT's crop_block_size does`);
  const config = withModelShape(asked, { ...full, block_size: blockSize }, name, notes);
  const { model } = loadHfGpt2(files, { backend, seed: asked.seed, dropout: asked.dropout, blockSize });
  let stream = model.generator.getState();
  if (blockSize < full.block_size) {
    // train.py built the model at GPT-2's full size (its initialization's draws) before cropping it
    const generator = new TorchGenerator(asked.seed);
    skipNanoGptInit(full, generator);
    stream = generator.getState();
  }
  if (full.activation === 'gelu_new') notes.push('GELU as GPT-2 computes it (the tanh approximation, gelu_new); nanoGPT runs exact GELU on these weights');
  return { config, resume: asCheckpoint(model, config, data, 0, 1e9, null, stream), where: files.weights, notes, evalAtStart: true, continuesLog: false };
}

/** Where a run starts, from config.init_from (scratch, resume, a GPT-2 name or a path). */
export function trainingStart(asked: TrainConfig, data: TrainerData, backend: Backend, ckptPath: string): TrainingStart {
  const plain = { config: asked, where: ckptPath, notes: [], evalAtStart: false };
  if (asked.init_from === 'scratch') return { ...plain, continuesLog: false };
  if (asked.init_from === 'resume') return { ...plain, resume: loadCheckpointFile(ckptPath, { backend }), continuesLog: true };
  const source = resolveModelSource(asked.init_from, asked.out_dir);
  if (source.kind === 'yorick') return { ...plain, where: source.path, resume: loadCheckpointFile(source.path, { backend }), continuesLog: true };
  if (source.kind === 'nanogpt') return fromNanoGpt(source.path, asked, data, backend);
  return fromGpt2(source.name, source.files, asked, data, backend);
}
