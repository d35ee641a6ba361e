import type { Tensor } from '../tensor/tensor.js';
import type { IntTensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';

export interface ModelOutput {
  /** [B, T, V] with targets; [B, 1, V] (last position only) without, for GPT. */
  logits: Tensor;
  loss: Tensor | null;
}

/** What training and sampling need of a model. */
export interface LanguageModel extends Module {
  readonly blockSize: number;
  readonly vocabSize: number;
  forward(idx: IntTensor, targets?: IntTensor): ModelOutput;
}
