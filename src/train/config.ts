import { DROPOUT_RNGS } from '../ops/dropout.js';
import { UserError } from '../errors.js';
import { parseSeed } from './seed.js';

/** Training configuration: nanoGPT's train.py names and defaults. */
export interface TrainConfig {
  out_dir: string;
  eval_interval: number;
  log_interval: number;
  eval_iters: number;
  eval_only: boolean;
  always_save_checkpoint: boolean;
  /**
   * 'scratch', 'resume' (from out_dir), a GPT-2 name (gpt2, gpt2-medium, gpt2-large, gpt2-xl:
   * Hugging Face's weights), or a path: nanoGPT's ckpt.pt, a yorick ckpt.safetensors, or a
   * folder holding model.safetensors + config.json.
   */
  init_from: string;
  dataset: string;
  /** 'gpt' or 'bigram' (the lecture's first model). */
  model: string;
  gradient_accumulation_steps: number;
  batch_size: number;
  block_size: number;
  n_layer: number;
  n_head: number;
  n_embd: number;
  dropout: number;
  bias: boolean;
  learning_rate: number;
  max_iters: number;
  weight_decay: number;
  beta1: number;
  beta2: number;
  grad_clip: number;
  decay_lr: boolean;
  warmup_iters: number;
  lr_decay_iters: number;
  min_lr: number;
  seed: number;
  /** The compute backend (nanoGPT's key): native, wasm, webgpu, reference, or auto for the fastest that loads. */
  device: string;
  /**
   * Where dropout masks come from: torch (PyTorch's CPU stream: nanoGPT's numbers for a seed),
   * device (drawn by the backend; no host work or upload), or auto (device on WebGPU, else torch).
   */
  dropout_rng: string;
  /** nanoGPT's distributed backend (nccl, gloo): kept so nanoGPT configs load; yorick runs one process. */
  backend: string;
  /** Directory holding data/<dataset>/ (nanoGPT keeps it beside train.py). */
  data_dir: string;
}

export const defaultTrainConfig: TrainConfig = {
  out_dir: 'out',
  eval_interval: 2000,
  log_interval: 1,
  eval_iters: 200,
  eval_only: false,
  always_save_checkpoint: true,
  init_from: 'scratch',
  dataset: 'openwebtext',
  model: 'gpt',
  gradient_accumulation_steps: 40,
  batch_size: 12,
  block_size: 1024,
  n_layer: 12,
  n_head: 12,
  n_embd: 768,
  dropout: 0,
  bias: false,
  learning_rate: 6e-4,
  max_iters: 600000,
  weight_decay: 1e-1,
  beta1: 0.9,
  beta2: 0.95,
  grad_clip: 1.0,
  decay_lr: true,
  warmup_iters: 2000,
  lr_decay_iters: 600000,
  min_lr: 6e-5,
  seed: 1337,
  device: 'auto',
  dropout_rng: 'auto',
  backend: 'nccl',
  data_dir: 'data',
};

/** nanoGPT's config/train_shakespeare_char.py: the GPU recipe (6 layers, 384 wide, block 256). */
const shakespeareChar: Partial<TrainConfig> = {
  out_dir: 'out-shakespeare-char',
  eval_interval: 250,
  eval_iters: 200,
  log_interval: 10,
  always_save_checkpoint: false,
  dataset: 'shakespeare_char',
  gradient_accumulation_steps: 1,
  batch_size: 64,
  block_size: 256,
  n_layer: 6,
  n_head: 6,
  n_embd: 384,
  dropout: 0.2,
  learning_rate: 1e-3,
  max_iters: 5000,
  lr_decay_iters: 5000,
  min_lr: 1e-4,
  beta2: 0.99,
  warmup_iters: 100,
};

/**
 * nanoGPT's config/finetune_shakespeare.py: GPT-2 finetuned on the GPT-2 tokens of Tiny
 * Shakespeare (yorick prepare --dataset shakespeare) at a constant small learning rate, 32
 * sequences of 1024 tokens an iteration. nanoGPT's recipe starts from gpt2-xl; this one from
 * gpt2 (124M), which a CPU holds: --init_from=gpt2-medium, -large or -xl for the others.
 */
const finetuneShakespeare: Partial<TrainConfig> = {
  out_dir: 'out-shakespeare',
  eval_interval: 5,
  eval_iters: 40,
  dataset: 'shakespeare',
  init_from: 'gpt2',
  always_save_checkpoint: false,
  batch_size: 1,
  gradient_accumulation_steps: 32,
  max_iters: 20,
  learning_rate: 3e-5,
  decay_lr: false,
};

export const builtinConfigs: Record<string, Partial<TrainConfig>> = {
  shakespeare_char: shakespeareChar,
  // nanoGPT README's CPU run of the same recipe (val loss 1.88 after 2000 iterations)
  shakespeare_char_cpu: {
    ...shakespeareChar,
    out_dir: 'out-shakespeare-char-cpu',
    eval_iters: 20,
    // the README's command says --log_interval=1 to watch every step; a terminal here shows every
    // step on its live line anyway, and a log file gets a line every 10 (the recipe's own value)
    log_interval: 10,
    block_size: 64,
    batch_size: 12,
    n_layer: 4,
    n_head: 4,
    n_embd: 128,
    max_iters: 2000,
    lr_decay_iters: 2000,
    dropout: 0,
  },
  // the lecture's bigram model on the same data
  bigram_shakespeare_char: {
    ...shakespeareChar,
    out_dir: 'out-bigram',
    model: 'bigram',
    batch_size: 32,
    block_size: 8,
    max_iters: 3000,
    lr_decay_iters: 3000,
    eval_interval: 300,
    eval_iters: 200,
    // the lecture's bigram.py: AdamW(lr=1e-2) with PyTorch's default weight decay, constant lr
    learning_rate: 1e-2,
    decay_lr: false,
    weight_decay: 0.01,
    dropout: 0,
    warmup_iters: 0,
  },
  finetune_shakespeare: finetuneShakespeare,
};

/** Turns a value from JSON or the command line into the type of the default, or says why not. */
function coerce(key: keyof TrainConfig, value: unknown, where: string): unknown {
  if (key === 'seed') return parseSeed(value, `${where}: seed`);
  const expected = typeof defaultTrainConfig[key];
  if (expected === 'number') {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new UserError(`${where}: ${key} must be a number, got ${JSON.stringify(value)}`);
    return n;
  }
  if (expected === 'boolean') {
    if (value === true || value === 'true' || value === 'True') return true;
    if (value === false || value === 'false' || value === 'False') return false;
    throw new UserError(`${where}: ${key} must be true or false, got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'string') throw new UserError(`${where}: ${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Applies key/value pairs onto a config; an unknown key or a value of the wrong type is a UserError naming it. */
export function applyOverrides(config: TrainConfig, values: Record<string, unknown>, where: string): TrainConfig {
  const out = { ...config };
  for (const [key, value] of Object.entries(values)) {
    // own keys only: "constructor", "__proto__" or "toString" are not config keys
    if (!Object.hasOwn(defaultTrainConfig, key)) {
      throw new UserError(`${where}: unknown config key "${key}"; known keys: ${Object.keys(defaultTrainConfig).join(', ')}`);
    }
    (out as Record<string, unknown>)[key] = coerce(key as keyof TrainConfig, value, where);
  }
  return out;
}

const positiveInts: (keyof TrainConfig)[] = ['eval_interval', 'log_interval', 'eval_iters', 'gradient_accumulation_steps',
  'batch_size', 'block_size', 'n_layer', 'n_head', 'n_embd'];

/** Sizes past which a run cannot allocate (a typo such as --batch_size=1e9), refused before it tries. */
export const LIMITS: [keyof TrainConfig, number][] = [['block_size', 1 << 20], ['n_layer', 4096], ['n_head', 4096], ['n_embd', 1 << 16]];
export const MAX_BATCH_TOKENS = 1 << 24;
export const MAX_MODEL_BYTES = 2 ** 40;

/** Checks values that have the right type but cannot work. */
export function validateConfig(c: TrainConfig): void {
  for (const k of positiveInts) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${k} must be a positive integer, got ${v}`);
  }
  parseSeed(c.seed, 'seed');
  for (const k of ['max_iters', 'warmup_iters', 'lr_decay_iters'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new UserError(`${k} must be an integer >= 0, got ${c[k]}`);
  }
  for (const [k, max] of LIMITS) {
    if ((c[k] as number) > max) throw new UserError(`${k} (${c[k]}) is over yorick's limit of ${max.toLocaleString('en-US')}`);
  }
  const tokens = c.batch_size * c.block_size;
  if (tokens > MAX_BATCH_TOKENS) {
    throw new UserError(`batch_size x block_size = ${c.batch_size} x ${c.block_size} = ${tokens.toLocaleString('en-US')} tokens per micro-batch is over the limit of ${MAX_BATCH_TOKENS.toLocaleString('en-US')}; use gradient_accumulation_steps for bigger batches`);
  }
  // weights, gradients and AdamW's two moments: 16 bytes a parameter (12 n_layer n_embd^2 of them in the blocks)
  const bytes = 16 * (12 * c.n_layer * c.n_embd ** 2 + c.block_size * c.n_embd);
  if (c.model === 'gpt' && bytes > MAX_MODEL_BYTES) {
    throw new UserError(`n_layer ${c.n_layer} x n_embd ${c.n_embd} makes a model needing about ${(bytes / 2 ** 30).toFixed(0)} GiB for training, over the limit of ${MAX_MODEL_BYTES / 2 ** 30} GiB`);
  }
  if (c.n_embd % c.n_head !== 0) throw new UserError(`n_embd (${c.n_embd}) must be divisible by n_head (${c.n_head})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new UserError(`dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.learning_rate > 0)) throw new UserError(`learning_rate must be > 0, got ${c.learning_rate}`);
  if (!(c.min_lr >= 0)) throw new UserError(`min_lr must be >= 0, got ${c.min_lr}`);
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) throw new UserError(`beta1 and beta2 must be in [0, 1), got ${c.beta1} and ${c.beta2}`);
  if (!(c.weight_decay >= 0)) throw new UserError(`weight_decay must be >= 0, got ${c.weight_decay}`);
  if (!(c.grad_clip >= 0)) throw new UserError(`grad_clip must be >= 0 (0 disables clipping), got ${c.grad_clip}`);
  if (c.decay_lr && c.lr_decay_iters <= c.warmup_iters) {
    throw new UserError(`lr_decay_iters (${c.lr_decay_iters}) must be greater than warmup_iters (${c.warmup_iters})`);
  }
  if (c.init_from === '') throw new UserError('init_from must be scratch, resume, gpt2, gpt2-medium, gpt2-large, gpt2-xl or a path to a checkpoint, got ""');
  if (['auto', 'native', 'wasm', 'webgpu', 'reference'].includes(c.backend)) {
    throw new UserError(`backend is nanoGPT's distributed backend (nccl, gloo); the compute backend is chosen with device: --device=${c.backend}`);
  }
  if (!['auto', ...DROPOUT_RNGS].includes(c.dropout_rng)) throw new UserError(`dropout_rng must be auto, torch or device, got "${c.dropout_rng}"`);
  if (c.model !== 'gpt' && c.model !== 'bigram') throw new UserError(`model must be "gpt" or "bigram", got "${c.model}"`);
}

/**
 * The config a run uses: defaults, then a built-in config or a JSON object (from a file), then
 * --key=value overrides, in that order.
 */
export function resolveConfig(base: { name?: string; json?: Record<string, unknown>; jsonWhere?: string }, overrides: Record<string, string>): TrainConfig {
  let config = { ...defaultTrainConfig };
  if (base.name) {
    const builtin = Object.hasOwn(builtinConfigs, base.name) ? builtinConfigs[base.name] : undefined;
    if (!builtin) throw new UserError(`unknown config "${base.name}"; built-in configs: ${Object.keys(builtinConfigs).join(', ')} (or give a path to a .json file)`);
    config = { ...config, ...builtin };
  }
  if (base.json) config = applyOverrides(config, base.json, base.jsonWhere ?? 'config file');
  config = applyOverrides(config, overrides, 'command line');
  validateConfig(config);
  return config;
}
