import { TorchGenerator } from '../tensor/torch-generator.js';
import { BigramLanguageModel } from './bigram.js';
import { defaultGPTConfig, GPT } from './gpt.js';
import { skipNanoGptInit } from './nanogpt-init.js';
import type { LanguageModel, ModelOptions, ModelSpec } from './model.js';

/** The one place a model is built from its spec (a config, a checkpoint's metadata). */
export function createModel(spec: ModelSpec, opts: ModelOptions = {}): LanguageModel {
  switch (spec.kind) {
    case 'bigram': return new BigramLanguageModel(spec.args.vocab_size, spec.args.block_size, opts);
    case 'gpt': return new GPT(spec.args, opts);
    default: throw new Error(`unknown model kind ${JSON.stringify((spec as { kind: unknown }).kind)}; expected gpt or bigram`);
  }
}

/**
 * The stream nanoGPT's sample.py generates from: torch.manual_seed(seed), then the model built
 * (its initialization's draws) before the checkpoint's weights replace them. Sampling a model
 * with this generator gives sample.py's (and `yorick sample`'s) tokens for that seed.
 */
export function samplingGenerator(spec: ModelSpec, seed: number): TorchGenerator {
  const generator = new TorchGenerator(seed);
  if (spec.kind === 'bigram') generator.embeddingInit(spec.args.vocab_size, spec.args.vocab_size);
  else skipNanoGptInit({ ...defaultGPTConfig, ...spec.args }, generator);
  return generator;
}
