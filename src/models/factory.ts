import { BigramLanguageModel } from './bigram.js';
import { GPT } from './gpt.js';
import type { LanguageModel, ModelOptions, ModelSpec } from './model.js';

/** The one place a model is built from its spec (a config, a checkpoint's metadata). */
export function createModel(spec: ModelSpec, opts: ModelOptions = {}): LanguageModel {
  switch (spec.kind) {
    case 'bigram': return new BigramLanguageModel(spec.args.vocab_size, spec.args.block_size, opts);
    case 'gpt': return new GPT(spec.args, opts);
    default: throw new Error(`unknown model kind ${JSON.stringify((spec as { kind: unknown }).kind)}; expected gpt or bigram`);
  }
}
