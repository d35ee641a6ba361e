import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { IntTensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { Rng } from '../tensor/rng.js';
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
  /** Dropout's random stream (saved in checkpoints so a resumed run continues it). */
  readonly rng: Rng;
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
  /** Default 1337. */
  seed?: number;
  /** Default: defaultBackend(). */
  backend?: Backend;
}
