/**
 * The one place where weights read by the format layer (plain Float32Arrays under nanoGPT's
 * names) become a yorick model on a backend, and where a model's weights are read back.
 */
import { GPT, type GPTConfig } from '../models/gpt.js';
import type { ModelOptions } from '../models/model.js';
import type { NanoGptModelArgs, StateDict } from './gpt-layout.js';

/** yorick's GPT with the given weights (dropout as the args say; call .eval() to sample). */
export function gptFromStateDict(args: NanoGptModelArgs & { activation?: GPTConfig['activation'] }, stateDict: StateDict, opts: ModelOptions = {}): GPT {
  const model = new GPT({ ...args }, opts);
  model.loadStateDict(stateDict);
  return model;
}

/** A GPT's weights (host copies, read from its backend) and config as the format layer takes them. */
export async function gptStateDict(model: GPT): Promise<{ modelArgs: NanoGptModelArgs & { activation?: GPTConfig['activation'] }; stateDict: StateDict }> {
  const { n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout, activation } = model.config;
  const stateDict: StateDict = new Map();
  for (const [name, p] of model.namedParameters()) stateDict.set(name, { shape: [...p.shape], data: await p.data() });
  return { modelArgs: { n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout, ...(activation ? { activation } : {}) }, stateDict };
}
