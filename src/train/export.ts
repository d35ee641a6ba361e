/**
 * A yorick checkpoint's contents in the layouts PyTorch's tools read: nanoGPT's ckpt.pt (what
 * its train.py saves: the state dict, AdamW's state, model_args, iter_num, best_val_loss and
 * train.py's config) and Hugging Face's GPT-2 (weights and config.json). Plain arrays in and out.
 */
import { UserError } from '../errors.js';
import type { NanoGptCheckpoint } from '../io/nanogpt.js';
import type { PyValue } from '../io/py-values.js';
import type { GPTConfig } from '../models/gpt.js';
import { learningRate } from '../optim/adamw.js';
import type { CheckpointContents } from './checkpoint.js';
import { defaultTrainConfig, type TrainConfig } from './config.js';

/** train.py's settings that yorick does not have, as train.py's defaults for a CPU run. */
const NANOGPT_ONLY: Record<string, PyValue> = {
  wandb_log: false, wandb_project: 'owt', wandb_run_name: 'gpt2', device: 'cpu', dtype: 'float32', compile: false,
};

/** train.py's config_keys, in its order. */
const NANOGPT_KEYS = ['out_dir', 'eval_interval', 'log_interval', 'eval_iters', 'eval_only', 'always_save_checkpoint', 'init_from',
  'wandb_log', 'wandb_project', 'wandb_run_name', 'dataset', 'gradient_accumulation_steps', 'batch_size', 'block_size', 'n_layer',
  'n_head', 'n_embd', 'dropout', 'bias', 'learning_rate', 'max_iters', 'weight_decay', 'beta1', 'beta2', 'grad_clip', 'decay_lr',
  'warmup_iters', 'lr_decay_iters', 'min_lr', 'backend', 'device', 'dtype', 'compile'];

function gptArgs(c: CheckpointContents, what: string): GPTConfig {
  if (c.state.model.kind !== 'gpt') throw new UserError(`${what} holds a ${c.state.model.kind} model; only GPT models have a nanoGPT or Hugging Face layout`);
  return c.state.model.args;
}

/** The run's config as a TrainConfig (defaults for keys an older checkpoint lacks). */
function runConfig(c: CheckpointContents): TrainConfig {
  return { ...defaultTrainConfig, ...(c.state.config as Partial<TrainConfig>) };
}

/** nanoGPT's ckpt.pt contents for a yorick checkpoint, and what the user should know about them. */
export function nanoGptFromCheckpoint(c: CheckpointContents, what: string): { ckpt: NanoGptCheckpoint; notes: string[] } {
  const args = gptArgs(c, what);
  const config = runConfig(c);
  const notes: string[] = [];
  const { activation, ...modelArgs } = args;
  if (activation === 'gelu_new') notes.push("the model computes GELU as GPT-2 does (tanh approximation); nanoGPT's model.py computes exact GELU, so its logits differ slightly (as for nanoGPT's own from_pretrained)");
  const n = (name: string) => c.weights.get(name)!.data.length;
  const opt = c.optimizer ?? { step: 0, m: new Map([...c.weights.keys()].map((k) => [k, new Float32Array(n(k))])), v: new Map([...c.weights.keys()].map((k) => [k, new Float32Array(n(k))])) };
  if (!c.optimizer) notes.push(`${what} holds no optimizer state: the ckpt.pt gets zero AdamW moments (a fresh optimizer)`);
  const pyConfig: Record<string, PyValue> = {};
  for (const key of NANOGPT_KEYS) {
    pyConfig[key] = key in NANOGPT_ONLY ? NANOGPT_ONLY[key] : (config as unknown as Record<string, PyValue>)[key];
  }
  Object.assign(pyConfig, { block_size: args.block_size, n_layer: args.n_layer, n_head: args.n_head, n_embd: args.n_embd, bias: args.bias });
  const ckpt: NanoGptCheckpoint = {
    modelArgs: { ...modelArgs },
    stateDict: c.weights as NanoGptCheckpoint['stateDict'],
    optimizer: {
      ...opt,
      // the lr train.py set for the iteration the checkpoint was saved at
      lr: learningRate(c.state.iter_num, config), betas: [config.beta1, config.beta2], eps: 1e-8, weightDecay: config.weight_decay,
    },
    iterNum: c.state.iter_num,
    bestValLoss: c.state.best_val_loss,
    config: pyConfig,
  };
  return { ckpt, notes };
}

/** The weights and model args for Hugging Face's layout (hfGpt2Parts), and notes. */
export function hfFromCheckpoint(c: CheckpointContents, what: string): { stateDict: NanoGptCheckpoint['stateDict']; modelArgs: Omit<GPTConfig, 'activation'> & { activation: 'gelu' | 'gelu_new' }; notes: string[] } {
  const args = gptArgs(c, what);
  const notes: string[] = [];
  const tok = c.state.tokenizer;
  if (!(tok.kind === 'tiktoken' && tok.encoding === 'gpt2')) {
    notes.push(`the model reads ${tok.kind}${tok.encoding ? ` (${String(tok.encoding)})` : ''} tokens, not GPT-2's: Hugging Face's GPT-2 tokenizer will not fit it`);
  }
  if (!args.bias) notes.push('the model has no biases: Hugging Face\'s GPT-2 has them, so they are written as zeros (which compute the same)');
  // yorick's GPT without an activation runs exact GELU, which Hugging Face calls "gelu"
  return { stateDict: c.weights as NanoGptCheckpoint['stateDict'], modelArgs: { ...args, activation: args.activation ?? 'gelu' }, notes };
}
