import type { Backend } from '../backend/backend.js';
import { defaultBackend } from '../backend/default.js';
import { Embedding } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/loss.js';
import { TorchGenerator } from '../tensor/torch-generator.js';
import type { IntTensor } from '../tensor/tensor.js';
import type { LanguageModel, ModelOptions, ModelOutput, ModelSpec } from './model.js';

/** The lecture's first model: each token reads the logits of the next one from a V x V table. */
export class BigramLanguageModel extends Module implements LanguageModel {
  readonly token_embedding_table: Embedding;
  readonly blockSize: number;
  readonly generator: TorchGenerator;
  readonly backend: Backend;

  constructor(readonly vocabSize: number, blockSize = 8, opts: ModelOptions = {}) {
    super();
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`vocab_size must be a positive integer, got ${vocabSize}`);
    this.blockSize = blockSize;
    this.generator = opts.generator ?? new TorchGenerator(opts.seed ?? 1337);
    this.backend = opts.backend ?? defaultBackend();
    // nn.Embedding's default init, N(0, 1), drawn as the lecture's model draws it
    this.token_embedding_table = this.registerModule('token_embedding_table',
      new Embedding(vocabSize, vocabSize, { backend: this.backend, generator: this.generator }));
  }

  forward(idx: IntTensor, targets?: IntTensor): ModelOutput {
    const logits = this.token_embedding_table.forward(idx); // (B, T, V)
    return { logits, loss: targets ? crossEntropy(logits, targets) : null };
  }

  spec(): ModelSpec {
    return { kind: 'bigram', args: { vocab_size: this.vocabSize, block_size: this.blockSize } };
  }
}
