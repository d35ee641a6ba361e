/**
 * SEAM (engine refactor): the one place where weights read by the format layer (plain
 * Float32Arrays under nanoGPT's names) become a yorick model. When parameters move to
 * backend buffers, only this changes.
 */
import { GPT, type GPTConfig } from '../models/gpt.js';
import type { NanoGptModelArgs, StateDict } from './gpt-layout.js';

/** yorick's GPT with the given weights (dropout as the args say; call .eval() to sample). */
export function gptFromStateDict(args: NanoGptModelArgs & { activation?: GPTConfig['activation'] }, stateDict: StateDict, seed?: number): GPT {
  const model = new GPT({ ...args }, seed);
  model.loadStateDict(stateDict);
  return model;
}

/** A GPT's weights and config as the format layer takes them (views of the parameters, not copies). */
export function gptStateDict(model: GPT): { modelArgs: NanoGptModelArgs & { activation?: GPTConfig['activation'] }; stateDict: StateDict } {
  const { n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout, activation } = model.config;
  const stateDict: StateDict = new Map([...model.namedParameters()].map(([name, p]) => [name, { shape: [...p.shape], data: p.data }]));
  return { modelArgs: { n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout, ...(activation ? { activation } : {}) }, stateDict };
}
