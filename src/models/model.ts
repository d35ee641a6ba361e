import type { DropoutRng } from '../ops/dropout.js';
import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { IntTensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { TorchGenerator } from '../tensor/torch-generator.js';
import type { GPTConfig } from './gpt.js';
import type { KVCache } from './kv-cache.js';

export interface ModelOutput {
  /** [B, T, V] with targets; [B, 1, V] (last position only) without, for GPT. */
  logits: Tensor;
  loss: Tensor | null;
}

/** What training and sampling need of a model. */
export interface LanguageModel extends Module {
  readonly blockSize: number;
  readonly vocabSize: number;
  /** Where the parameters live (and so every activation). */
  readonly backend: Backend;
  /** The PyTorch-compatible stream the model was initialized from and draws dropout from. */
  readonly generator: TorchGenerator;
  forward(idx: IntTensor, targets?: IntTensor, cache?: KVCache): ModelOutput;
  /** Models that can cache keys and values for sampling return a fresh cache. */
  newCache?(batch: number): KVCache;
  /** What it takes to build this model again (saved in checkpoints). */
  spec(): ModelSpec;
}

export type ModelSpec =
  | { kind: 'gpt'; args: GPTConfig }
  | { kind: 'bigram'; args: { vocab_size: number; block_size: number } };

/** How a model is built: the seed its initial weights and dropout stream come from, and its backend. */
export interface ModelOptions {
  /** Seeds a generator of the model's own, as torch.manual_seed(seed) (default 1337). */
  seed?: number;
  /** A generator to draw from instead (shared with the batches, as nanoGPT's one global stream). */
  generator?: TorchGenerator;
  /** Default: defaultBackend(). */
  backend?: Backend;
  /**
   * false: skip computing the initial weights, for a model whose weights are loaded next (GPT
   * only). The generator still moves on past the initialization's draws, so it stands where
   * nanoGPT's stands once its model is built.
   */
  initWeights?: boolean;
  /**
   * Where dropout masks come from (GPT with dropout > 0): 'torch' (PyTorch's CPU stream, the
   * default on CPU backends) or 'device' (drawn by the backend, the default on WebGPU).
   */
  dropoutRng?: DropoutRng;
}
